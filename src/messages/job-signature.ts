import { type Authenticity, canonicalFields, checkSignature, signatureOf } from "./message-signature.ts";

export type { Authenticity } from "./message-signature.ts";

/**
 * The coordinator's signature on a `REDUCTION.DATA_READY` job: an HMAC-SHA256, with the key both
 * the coordinator and the worker read from `security.job_key_file`, over a canonical serialisation
 * of every field that affects what runs. It travels in the body field `job_signature`, which an SNS
 * post-processing agent ignores. A worker runs stored script text and variables only from a job
 * whose signature verifies; a plain SNS job (no signature) runs the script file the worker finds.
 */

/** The body field that carries the signature: `hmac-sha256:<64 hex digits>`. */
export const SIGNATURE_FIELD = "job_signature";

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
  return canonicalFields(job, SIGNED_FIELDS, null);
}

/** The job with its signature (any signature it had is replaced). */
export function signJob<T extends Record<string, unknown>>(
  job: T,
  key: Buffer,
): T & { [SIGNATURE_FIELD]: string } {
  return { ...job, [SIGNATURE_FIELD]: signatureOf(canonicalJob(job), key) };
}

/**
 * Whether a job carries the coordinator's signature: `unsigned` (no `job_signature`: an SNS
 * workflow manager's job), `valid`, or `invalid` (altered, forged, or signed with another key).
 */
export function verifyJob(job: Record<string, unknown>, key: Buffer): Authenticity {
  return checkSignature(job[SIGNATURE_FIELD], canonicalJob(job), key);
}
