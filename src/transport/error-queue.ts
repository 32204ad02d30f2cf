import type { z } from "zod";
import { ErrorMessageSchema } from "../messages/error-message.ts";
import { messageBody } from "../messages/message-body.ts";
import { InvalidMessageError, parseMessage } from "../messages/message-error.ts";
import type { IncomingMessage, Transport } from "./transport.ts";

/** The most of an original body copied into an error-queue message (64 KiB). */
export const MAX_COPIED_BODY_BYTES = 64 * 1024;
/** Top-level fields of a cut body that are still copied: short scalars (instrument, run_number, ...). */
const MAX_COPIED_FIELD_CHARS = 1024;

/**
 * Sends a message that cannot be accepted to the error queue, never dropping it: the original
 * fields (when the body is a JSON object) plus `error` (SNS form), and ours: `original_body`
 * and `original_destination`, so that nothing of the input is lost. A body larger than
 * {@link MAX_COPIED_BODY_BYTES} is cut to that size (so a 10 MB bad message does not become a
 * 20 MB error message): `original_body_truncated: true` and `original_body_bytes` say so, as do
 * the headers `x-original-body-truncated` and `x-original-body-bytes`; only the short scalar
 * fields of such a body are copied. The reason is kept whole in `error`; the header
 * `x-error-reason` has its first 500 characters (a transport may clean it further).
 */
export async function sendToErrorQueue(
  transport: Transport,
  errorQueue: string,
  message: Pick<IncomingMessage, "body" | "destination" | "id">,
  reason: string,
  /** Fields set over the original's, before `error` (the SNS agent adds `information: <host>`). */
  extra: Record<string, unknown> = {},
): Promise<void> {
  const bytes = Buffer.byteLength(message.body);
  const truncated = bytes > MAX_COPIED_BODY_BYTES;
  let fields: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(message.body);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      fields = truncated
        ? shortScalars(parsed as Record<string, unknown>)
        : (parsed as Record<string, unknown>);
  } catch {
    // not JSON: kept whole in original_body
  }
  // The truncation fields are ours: an original's own copies of them would say something false.
  const { original_body_truncated: _cut, original_body_bytes: _bytes, ...copied } = fields;
  const body = {
    ...copied,
    ...extra,
    error: reason,
    original_body: truncated ? cutToBytes(message.body, MAX_COPIED_BODY_BYTES) : message.body,
    original_destination: message.destination,
    original_message_id: message.id,
    ...(truncated ? { original_body_truncated: true as const, original_body_bytes: bytes } : {}),
  };
  await transport.send(errorQueue, {
    body: messageBody(ErrorMessageSchema, body),
    headers: {
      "x-error-reason": reason.slice(0, 500),
      ...(truncated ? { "x-original-body-truncated": "true", "x-original-body-bytes": String(bytes) } : {}),
    },
  });
}

function shortScalars(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).filter(
      ([, v]) =>
        typeof v === "number" ||
        typeof v === "boolean" ||
        (typeof v === "string" && v.length <= MAX_COPIED_FIELD_CHARS),
    ),
  );
}

/** The first `max` bytes of `text` as UTF-8, without a character cut in half. */
function cutToBytes(text: string, max: number): string {
  return Buffer.from(text)
    .subarray(0, max)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
}

/**
 * Validates a message body against a schema; a body that does not fit goes to the error queue
 * with the reason (and is thereby handled), and null is returned. Other errors propagate, so
 * that infrastructure faults lead to redelivery.
 */
export async function parseOrReject<T extends z.ZodType>(
  transport: Transport,
  errorQueue: string,
  message: IncomingMessage,
  schema: T,
): Promise<z.infer<T> | null> {
  try {
    return parseMessage(schema, message.body);
  } catch (e) {
    if (!(e instanceof InvalidMessageError)) throw e;
    await sendToErrorQueue(transport, errorQueue, message, e.reason);
    return null;
  }
}
