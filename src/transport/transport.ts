import { type Backoff, backoffDelay } from "../failures/backoff.ts";
import { InfrastructureError } from "../failures/infrastructure-error.ts";

/**
 * The message bus between the parts. Destinations are `/queue/NAME` (each message to one
 * consumer, persistent, acknowledged) or `/topic/NAME` (each message to every current
 * subscriber, not persistent: heartbeats and live status).
 *
 * Delivery is at-least-once: a handler's message is acknowledged only after the handler's
 * promise resolves. If the handler rejects, or its process dies, the message is delivered again
 * (to this or another consumer), so every handler must be idempotent — `message.id` is stable
 * across redeliveries and serves as the dedupe key. After `maxDeliveries` failed deliveries a
 * message is moved to `/queue/DLQ.<NAME>` with the reason in the `x-dead-letter-reason` header.
 *
 * Adapters: embedded (tables in the SQLite or PostgreSQL state database, `embedded/`), and
 * STOMP (ActiveMQ, RabbitMQ's STOMP plugin, `stomp/`). All pass test/transport/conformance, whose
 * doc comment lists where the backends differ.
 */
export interface Transport {
  /** Sends one message; resolves when the message is durable (queues) or handed over (topics). */
  send(destination: string, message: OutgoingMessage): Promise<string>;
  /** Starts consuming. The handler runs for each message; see the delivery rules above. */
  subscribe(destination: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Subscription>;
  /** Messages waiting in a queue (not counting ones being handled now). */
  depth(destination: string): Promise<number>;
  /**
   * Looks at up to `limit` messages waiting in a queue, oldest first, without taking them (for
   * operators: dead-letter and error queues). Messages being handled now may be left out.
   */
  browse(destination: string, limit: number): Promise<QueuedMessage[]>;
  /**
   * Removes one waiting message, found by the `id` that browse() gave it, and returns it; null
   * when it is not (or no longer) there. Once this resolves the removal is durable.
   */
  take(destination: string, id: string): Promise<QueuedMessage | null>;
  /** Stops every subscription (waiting for running handlers) and releases connections. */
  close(): Promise<void>;
}

export interface OutgoingMessage {
  /** The body, usually JSON. */
  body: string;
  /** Extra headers, kept with the message. */
  headers?: Record<string, string>;
  /** Deliver no earlier than this many milliseconds from now (queues only). */
  delayMs?: number;
}

export interface IncomingMessage {
  /** Stable across redeliveries of the same message. */
  readonly id: string;
  readonly destination: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  /** 1 on the first delivery, 2 on the first redelivery, ... */
  readonly deliveryCount: number;
}

/** A message waiting in a queue, as browse() and take() show it. */
export interface QueuedMessage {
  /**
   * Names the message for take(). The sender's id where there is one (ours, or `x-message-id`);
   * else the broker's (ActiveMQ), or a hash of the body (RabbitMQ, whose own ids name deliveries).
   */
  readonly id: string;
  readonly destination: string;
  readonly body: string;
  /** The message's own headers (a dead letter's reason among them), not the broker's. */
  readonly headers: Readonly<Record<string, string>>;
  /** When it was put in this queue (epoch ms), where the backend tells; else null. */
  readonly enqueuedAt: number | null;
}

/** Resolve to acknowledge; reject to have the message delivered again later. */
export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export interface SubscribeOptions {
  /** Messages handled at once by this subscription. Default 1. */
  prefetch?: number;
  /**
   * Delay before a message whose handler rejected is delivered again, by delivery count.
   * Default: 1 s, 2 s, 4 s, ... capped at 60 s.
   */
  retryDelayMs?: (deliveryCount: number) => number;
}

export interface Subscription {
  /** Stops taking new messages and waits for the running handlers. */
  unsubscribe(): Promise<void>;
  /** Handlers running now. */
  readonly active: number;
}

/** On a dead letter: the queue it was taken from, so that it can be sent back there. */
export const ORIGINAL_DESTINATION_HEADER = "x-original-destination";
/** On a dead letter: why it is there. */
export const DEAD_LETTER_REASON_HEADER = "x-dead-letter-reason";

/** The transport cannot reach its database or broker. Infrastructure: retrying later may help. */
export class TransportUnavailableError extends InfrastructureError {
  override readonly name = "TransportUnavailableError";
}

/** Redelivery after a failed handler: 1 s doubling to 60 s. */
const REDELIVERY: Backoff = { initialMs: 1000, maxMs: 60_000 };

/** How long a message whose handler failed waits before its next delivery (`deliveryCount` from 1). */
export function defaultRetryDelayMs(deliveryCount: number): number {
  return backoffDelay(REDELIVERY, deliveryCount);
}
