import { randomUUID } from "node:crypto";
import type { StompHeaders } from "@stomp/stompjs";
import { DEAD_LETTER_REASON_HEADER } from "../transport.ts";

/**
 * Our id of a message, set when it is first sent and copied onto every re-sent copy, so that
 * `IncomingMessage.id` is stable across retries (the broker's `message-id` is not: a retry is a
 * new broker message, and RabbitMQ's `message-id` even names the delivery).
 */
export const ID_HEADER = "x-autoreduce-id";
/** On a re-sent copy: the deliveries its predecessors had (all failed). */
export const DELIVERIES_HEADER = "x-autoreduce-deliveries";
/** On a dead letter: why it is there (the same header as the embedded transport's). */
export const REASON_HEADER = DEAD_LETTER_REASON_HEADER;
/** On a dead letter: when it was dead-lettered (epoch ms), for `autoreduce dlq list`. */
export const DEAD_LETTERED_AT_HEADER = "x-dead-lettered-at";
/** A caller may choose a message's id with this header (as with the embedded transport). */
const CALLER_ID_HEADER = "x-message-id";

/**
 * Headers the broker adds or that steer the broker rather than describe the message. They are
 * not shown to handlers, and not copied when a message is sent again (a copied `expires`,
 * `expiration` or `message-id` would do harm).
 */
const BROKER_HEADERS = new Set([
  // STOMP
  "message-id",
  "destination",
  "subscription",
  "ack",
  "receipt",
  "transaction",
  "content-length",
  "content-type",
  "redelivered",
  "persistent",
  "expires",
  "priority",
  "timestamp",
  // ActiveMQ
  "transformation",
  "scheduledJobId",
  "AMQ_SCHEDULED_DELAY",
  "AMQ_SCHEDULED_PERIOD",
  "AMQ_SCHEDULED_REPEAT",
  "AMQ_SCHEDULED_CRON",
  "JMSXDeliveryCount",
  "originalDestination",
  // RabbitMQ (queue arguments given on a SEND are passed on as message headers)
  "expiration",
  "x-dead-letter-exchange",
  "x-dead-letter-routing-key",
  "x-expires",
  "x-message-ttl",
  "x-death",
  // ours
  ID_HEADER,
  DELIVERIES_HEADER,
]);
const BROKER_HEADER_PREFIXES = ["x-first-death-", "x-last-death-"];

/** Header names a caller may not set: they would change how the frame itself is read. */
const RESERVED = new Set([
  "destination",
  "receipt",
  "transaction",
  "content-length",
  ID_HEADER,
  DELIVERIES_HEADER,
]);

function isBrokerHeader(name: string): boolean {
  return BROKER_HEADERS.has(name) || BROKER_HEADER_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** The message's own headers: what the sender set (and a dead letter's reason). */
export function userHeaders(headers: StompHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!isBrokerHeader(name)) out[name] = value;
  return out;
}

/** The id a caller gave (`x-message-id`), else a new one. */
export function newMessageId(headers: Record<string, string> | undefined): string {
  return headers?.[CALLER_ID_HEADER] ?? randomUUID();
}

/** Ours if the message was sent by us, else the broker's (stable on ActiveMQ). */
export function messageIdOf(headers: StompHeaders): string {
  return headers[ID_HEADER] ?? headers[CALLER_ID_HEADER] ?? headers["message-id"] ?? randomUUID();
}

/**
 * 1 on the first delivery. Failed deliveries are counted in our header on the re-sent copy; a
 * delivery cut short (the consumer died or lost its connection) is seen only in the broker's
 * `redelivered` flag, which is a flag and not a count, so such losses add at most 1.
 */
export function deliveryCountOf(headers: StompHeaders): number {
  const previous = Number(headers[DELIVERIES_HEADER] ?? 0);
  return (
    1 + (Number.isInteger(previous) && previous > 0 ? previous : 0) + (headers.redelivered === "true" ? 1 : 0)
  );
}

/** The longest header value sent; longer values are cut (the full text belongs in the body). */
export const MAX_HEADER_VALUE_LENGTH = 1000;

/**
 * A header value as STOMP can carry it through every broker: control characters (NUL, line
 * breaks, tabs, ...) become a space, and a value longer than {@link MAX_HEADER_VALUE_LENGTH}
 * is cut with `…`. A NUL would end the frame; line breaks are not unescaped by every broker.
 */
export function headerValue(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, " ");
  return clean.length > MAX_HEADER_VALUE_LENGTH ? `${clean.slice(0, MAX_HEADER_VALUE_LENGTH - 1)}…` : clean;
}

/**
 * The headers to send for a caller's headers: refuses names STOMP cannot carry or that would
 * change the frame's meaning, and makes every value sendable with {@link headerValue} (so that
 * a message whose reason holds a NUL still reaches its queue instead of failing the sender).
 */
export function checkOutgoingHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name === "" || /[:\r\n\0]/.test(name))
      throw new Error(
        `header name ${JSON.stringify(name)} cannot be sent over STOMP (empty, or a colon or line break)`,
      );
    if (RESERVED.has(name)) throw new Error(`header "${name}" is set by the transport itself`);
    if (typeof value !== "string") throw new Error(`header "${name}" must be a string`);
    out[name] = headerValue(value);
  }
  return out;
}
