import type { z } from "zod";
import { InvalidMessageError, parseMessage } from "../messages/message-error.ts";
import type { IncomingMessage, Transport } from "./transport.ts";

/**
 * Sends a message that cannot be accepted to the error queue, never dropping it: the original
 * fields (when the body is a JSON object) plus `error` (SNS form), and ours: `original_body`
 * and `original_destination`, so that nothing of the input is lost.
 */
export async function sendToErrorQueue(
  transport: Transport,
  errorQueue: string,
  message: Pick<IncomingMessage, "body" | "destination" | "id">,
  reason: string,
): Promise<void> {
  let fields: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(message.body);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      fields = parsed as Record<string, unknown>;
  } catch {
    // not JSON: kept whole in original_body
  }
  const body = {
    ...fields,
    error: reason,
    original_body: message.body,
    original_destination: message.destination,
    original_message_id: message.id,
  };
  await transport.send(errorQueue, {
    body: JSON.stringify(body),
    headers: { "x-error-reason": reason.slice(0, 500) },
  });
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
