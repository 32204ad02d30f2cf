import { type Authenticity, canonicalFields, checkSignature, signatureOf } from "./message-signature.ts";

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
  "from_version",
] as const;

function canonicalRequest(request: Record<string, unknown>): string {
  return canonicalFields(request, REQUEST_SIGNED_FIELDS, "reduction-request");
}

/** The request with its signature (any it had is replaced). */
export function signRequest<T extends Record<string, unknown>>(request: T, key: Buffer): T {
  return { ...request, [REQUEST_SIGNATURE_FIELD]: signatureOf(canonicalRequest(request), key) };
}

/** Whether a request carries a signature that verifies with `key`. */
export function verifyRequest(request: Record<string, unknown>, key: Buffer): Authenticity {
  return checkSignature(request[REQUEST_SIGNATURE_FIELD], canonicalRequest(request), key);
}
