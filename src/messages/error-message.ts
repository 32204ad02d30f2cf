import { z } from "zod";

/**
 * On `POSTPROCESS.ERROR`: a message that could not be accepted, never dropped. The fields of the
 * original (when it was a JSON object) come first, then `error` (SNS form) and ours, which
 * `autoreduce dlq` reads to send the original back where it came from.
 */
export const ErrorMessageSchema = z.looseObject({
  /** Why it was refused, in words an operator can act on. */
  error: z.string(),
  /** The original body as received (cut to 64 KiB when larger; see the two fields below). */
  original_body: z.string().optional(),
  /** The destination the original was taken from. */
  original_destination: z.string().optional(),
  /** The transport's id of the original. */
  original_message_id: z.string().optional(),
  /** True when `original_body` is only the start of the original. */
  original_body_truncated: z.literal(true).optional(),
  /** Size of the whole original body, in bytes (when cut). */
  original_body_bytes: z.number().int().nonnegative().optional(),
});
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;
