import { createHmac, timingSafeEqual } from "node:crypto";
import type { Authenticity } from "./job-signature.ts";

/**
 * The signature of a `REDUCTION.REQUEST` made by one of our processes (the CLI or the web part,
 * which authenticated the person): an HMAC-SHA256 with the job key (`security.job_key_file`) over
 * the fields that say who asks and what. The coordinator honours a request's `role` and
 * `started_by` only when it verifies; any other request (SNS WebMon's, or one anybody with broker
 * access published) gets the smallest re-run cap and its claimed requester marked unverified.
 * The text signed starts with `reduction-request`, so a job's signature can never pass as a
 * request's or the other way round.
 */
export const REQUEST_SIGNATURE_FIELD = "request_signature";

/** The fields covered, in this order; absent ones are left out. */
export const REQUEST_SIGNED_FIELDS = [
  "instrument",
  "run_number",
  "run_numbers",
  "current_script",
  "variables",
  "description",
  "started_by",
  "role",
] as const;

const SCHEME = "hmac-sha256:";

function canonicalRequest(request: Record<string, unknown>): string {
  const pairs = REQUEST_SIGNED_FIELDS.filter((f) => request[f] !== undefined).map((f) => [
    f,
    sorted(request[f]),
  ]);
  return `reduction-request\n${JSON.stringify(pairs)}`;
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sorted(v)]),
  );
}

function mac(request: Record<string, unknown>, key: Buffer): Buffer {
  return createHmac("sha256", key).update(canonicalRequest(request)).digest();
}

/** The request with its signature (any it had is replaced). */
export function signRequest<T extends Record<string, unknown>>(request: T, key: Buffer): T {
  return { ...request, [REQUEST_SIGNATURE_FIELD]: `${SCHEME}${mac(request, key).toString("hex")}` };
}

/** Whether a request carries a signature that verifies with `key` (see job-signature.ts). */
export function verifyRequest(request: Record<string, unknown>, key: Buffer): Authenticity {
  const signature = request[REQUEST_SIGNATURE_FIELD];
  if (signature === undefined) return "unsigned";
  if (typeof signature !== "string" || !signature.startsWith(SCHEME)) return "invalid";
  const hex = signature.slice(SCHEME.length);
  if (!/^[0-9a-f]{64}$/.test(hex)) return "invalid";
  return timingSafeEqual(Buffer.from(hex, "hex"), mac(request, key)) ? "valid" : "invalid";
}
