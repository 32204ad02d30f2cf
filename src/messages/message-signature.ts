import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Signing the fields of a message with the job key (HMAC-SHA256), shared by jobs
 * (`job-signature.ts`) and re-run requests (`request-signature.ts`). The text signed is a JSON
 * array of `[field, value]` pairs in a fixed field order (absent fields left out), object keys
 * sorted at every depth, after a purpose line, so that the same message always gives the same
 * text whatever order its fields were written in, and a signature made for one purpose never
 * passes for another.
 */

/**
 * Whether a message carries a signature:
 * - `unsigned`: no signature field;
 * - `valid`: it verifies with the key;
 * - `invalid`: it is there but does not verify (altered, forged, or signed with another key).
 */
export type Authenticity = "unsigned" | "valid" | "invalid";

const SCHEME = "hmac-sha256:";

/** The text signed for `message`: `purpose` (if any) on a line, then the canonical pairs. */
export function canonicalFields(
  message: Record<string, unknown>,
  fields: readonly string[],
  purpose: string | null,
): string {
  const pairs = fields.filter((f) => message[f] !== undefined).map((f) => [f, sortKeys(message[f])]);
  const text = JSON.stringify(pairs);
  return purpose === null ? text : `${purpose}\n${text}`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
}

function mac(text: string, key: Buffer): Buffer {
  return createHmac("sha256", key).update(text).digest();
}

/** `hmac-sha256:<64 hex digits>` over `text`. */
export function signatureOf(text: string, key: Buffer): string {
  return `${SCHEME}${mac(text, key).toString("hex")}`;
}

/** Checks a signature field's value against `text` in constant time. */
export function checkSignature(signature: unknown, text: string, key: Buffer): Authenticity {
  if (signature === undefined) return "unsigned";
  if (typeof signature !== "string" || !signature.startsWith(SCHEME)) return "invalid";
  const hex = signature.slice(SCHEME.length);
  if (!/^[0-9a-f]{64}$/.test(hex)) return "invalid";
  return timingSafeEqual(Buffer.from(hex, "hex"), mac(text, key)) ? "valid" : "invalid";
}
