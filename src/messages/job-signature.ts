import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The coordinator's signature on a `REDUCTION.DATA_READY` job: an HMAC-SHA256, with the key both
 * the coordinator and the worker read from `security.job_key_file`, over a canonical serialisation
 * of every field that affects what runs. It travels in the body field `job_signature`, which an SNS
 * post-processing agent ignores. A worker runs stored script text and variables only from a job
 * whose signature verifies; a plain SNS job (no signature) runs the script file the worker finds.
 */

/** The body field that carries the signature: `hmac-sha256:<64 hex digits>`. */
export const SIGNATURE_FIELD = "job_signature";

const SCHEME = "hmac-sha256:";

/**
 * The fields covered, in this order. Anything else (`retry`, which a worker adds when it sends the
 * job again; `information`; unknown fields) does not change what runs and is not covered.
 */
export const SIGNED_FIELDS = [
  "facility",
  "instrument",
  "ipts",
  "run_number",
  "data_file",
  "job_id",
  "run_version",
  "output_dir",
  "script",
  "interpreter",
  "convention",
  "variables",
  "executor",
] as const;

/**
 * The text that is signed: a JSON array of `[field, value]` pairs in `SIGNED_FIELDS` order (absent
 * fields left out), object keys sorted at every depth, so that the same job always gives the same
 * text whatever order its fields were written in.
 */
export function canonicalJob(job: Record<string, unknown>): string {
  const pairs = SIGNED_FIELDS.filter((field) => job[field] !== undefined).map((field) => [
    field,
    sortKeys(job[field]),
  ]);
  return JSON.stringify(pairs);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
}

function mac(job: Record<string, unknown>, key: Buffer): Buffer {
  return createHmac("sha256", key).update(canonicalJob(job)).digest();
}

/** The job with its signature (any signature it had is replaced). */
export function signJob<T extends Record<string, unknown>>(
  job: T,
  key: Buffer,
): T & { [SIGNATURE_FIELD]: string } {
  return { ...job, [SIGNATURE_FIELD]: `${SCHEME}${mac(job, key).toString("hex")}` };
}

/**
 * Whether a job carries the coordinator's signature:
 * - `unsigned`: no `job_signature` field (an SNS workflow manager's job);
 * - `valid`: it verifies with `key`;
 * - `invalid`: it is there but does not verify (altered, forged, or signed with another key).
 */
export type Authenticity = "unsigned" | "valid" | "invalid";

export function verifyJob(job: Record<string, unknown>, key: Buffer): Authenticity {
  const signature = job[SIGNATURE_FIELD];
  if (signature === undefined) return "unsigned";
  if (typeof signature !== "string" || !signature.startsWith(SCHEME)) return "invalid";
  const hex = signature.slice(SCHEME.length);
  if (!/^[0-9a-f]{64}$/.test(hex)) return "invalid";
  return timingSafeEqual(Buffer.from(hex, "hex"), mac(job, key)) ? "valid" : "invalid";
}
