import type { StompHeaders } from "@stomp/stompjs";
import {
  deadLetterDestination,
  normalizeDestination,
  parseDestination,
} from "../../messages/destinations.ts";
import {
  defaultRetryDelayMs,
  type MessageHandler,
  type OutgoingMessage,
  type QueuedMessage,
  type SubscribeOptions,
  type Subscription,
  type Transport,
} from "../transport.ts";
import type { BrokerAddress } from "./broker-list.ts";
import { routeDelayed } from "./delayed-delivery.ts";
import type { Flavour } from "./flavour.ts";
import { checkOutgoingHeaders, ID_HEADER, newMessageId } from "./message-headers.ts";
import { browseQueue, type LookPlace, takeFromQueue } from "./queue-browser.ts";
import { QueueConsumer } from "./queue-consumer.ts";
import { ActiveMQDepths, rabbitDepthError } from "./queue-depth.ts";
import {
  type ConnectionChange,
  ConnectionLostError,
  type Session,
  StompConnection,
} from "./stomp-connection.ts";
import { TopicConsumer } from "./topic-consumer.ts";

export interface StompTransportOptions {
  brokers: Array<{ host: string; port: number }>;
  login?: string | undefined;
  /** Sent in the CONNECT frame only; never logged, never put in an error message. */
  passcode?: string | undefined;
  /** `auto`: from the CONNECTED frame's `server` header. */
  flavour?: "auto" | "activemq" | "rabbitmq";
  /** STOMP heart-beating both ways. Default 10 s. */
  heartbeatMs?: number;
  /** First reconnect delay, doubling on each failure. Default 500 ms. */
  reconnectInitialMs?: number;
  /** Longest reconnect delay. Default 30 s. */
  reconnectMaxMs?: number;
  /** How long send() waits for a connection and the broker's receipt. Default 60 s. */
  sendTimeoutMs?: number;
  /** Failed deliveries before a message is dead-lettered. Default 5. */
  maxDeliveries?: number;
  /** Where handler and broker errors are reported. Default: stderr. */
  onError?: (error: unknown, context: string) => void;
  /**
   * Connection changes, for logs: "connected to 127.0.0.1:61613 (ActiveMQ/5.17.2)". A `closed`
   * connection is one `close()` ended, not a fault. Default: stderr, except `closed`.
   */
  onConnectionChange?: (state: ConnectionChange, detail: string) => void;
}

interface Settings {
  brokers: BrokerAddress[];
  flavour: "auto" | Flavour;
  sendTimeoutMs: number;
  maxDeliveries: number;
  /** login and passcode, for the short connections of a look at a RabbitMQ queue. */
  credentials: StompHeaders;
  onError: (error: unknown, context: string) => void;
}

/**
 * The transport over a STOMP broker: ActiveMQ Classic (with `schedulerSupport="true"`) or
 * RabbitMQ's STOMP plugin. One connection per transport, re-established (and every subscription
 * re-made) after each loss; see StompConnection. What the brokers cannot do alike is in
 * test/transport/conformance.ts (depth on RabbitMQ; how delays are made).
 */
export class StompTransport implements Transport {
  private readonly consumers = new Set<QueueConsumer | TopicConsumer>();
  private closed = false;

  private constructor(
    private readonly connection: StompConnection,
    private readonly depths: ActiveMQDepths,
    private readonly settings: Settings,
  ) {}

  /** Starts connecting in the background and resolves at once: a broker that is down is no error. */
  static async open(options: StompTransportOptions): Promise<StompTransport> {
    if (options.brokers.length === 0) throw new Error("no STOMP broker given");
    if (options.passcode !== undefined && /[\r\n\0]/.test(options.passcode))
      throw new Error(
        "the broker password contains a line break or NUL, which a STOMP CONNECT frame cannot carry",
      );
    if (options.login !== undefined && /[\r\n\0]/.test(options.login))
      throw new Error(
        "the broker login contains a line break or NUL, which a STOMP CONNECT frame cannot carry",
      );
    const onError = options.onError ?? ((e, context) => console.error(`transport: ${context}:`, e));
    const brokers = options.brokers.map((b) => ({ host: b.host, port: b.port }));
    const flavour = options.flavour ?? "auto";
    const connection = new StompConnection({
      brokers,
      login: options.login,
      passcode: options.passcode,
      flavour,
      heartbeatMs: options.heartbeatMs ?? 10_000,
      reconnectInitialMs: options.reconnectInitialMs ?? 500,
      reconnectMaxMs: options.reconnectMaxMs ?? 30_000,
      onError,
      onConnectionChange:
        options.onConnectionChange ??
        ((state, detail) => {
          if (state !== "closed") console.error(`transport: ${state}: ${detail}`);
        }),
    });
    const credentials: StompHeaders = {};
    if (options.login !== undefined) credentials.login = options.login;
    if (options.passcode !== undefined) credentials.passcode = options.passcode;
    const transport = new StompTransport(connection, new ActiveMQDepths(credentials, onError), {
      brokers,
      flavour,
      sendTimeoutMs: options.sendTimeoutMs ?? 60_000,
      maxDeliveries: options.maxDeliveries ?? 5,
      credentials,
      onError,
    });
    connection.start();
    return transport;
  }

  /**
   * Waits for a connection, sends, and resolves on the broker's receipt (for a persistent queue
   * message, ActiveMQ and RabbitMQ send it once the message is stored). If the connection drops
   * before the receipt, the same message (same id) is sent again on the next connection: at
   * least once. After `sendTimeoutMs`: TransportUnavailableError.
   */
  async send(destination: string, message: OutgoingMessage): Promise<string> {
    this.assertOpen();
    const own = checkOutgoingHeaders(message.headers);
    const target = normalizeDestination(destination);
    const isQueue = parseDestination(target).kind === "queue";
    const id = newMessageId(own);
    const deadline = Date.now() + this.settings.sendTimeoutMs;
    for (;;) {
      const session = await this.connection.session(deadline, `sending to ${target}`);
      const route = isQueue
        ? routeDelayed(session.flavour, target, message.delayMs ?? 0)
        : { destination: target, headers: {} };
      const headers: StompHeaders = { ...own, ...route.headers, [ID_HEADER]: id };
      if (isQueue) headers.persistent = "true";
      try {
        await session.publishWithReceipt(
          { destination: route.destination, body: message.body, headers },
          Math.max(1, deadline - Date.now()),
        );
        return id;
      } catch (e) {
        if (e instanceof ConnectionLostError && !this.closed) continue;
        throw e;
      }
    }
  }

  /**
   * Starts consuming. Resolves once the broker has confirmed the subscription; if there is no
   * connection (after the first attempt failed), at once: the subscription starts when one is made.
   */
  async subscribe(
    destination: string,
    handler: MessageHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    this.assertOpen();
    const target = normalizeDestination(destination);
    const timeout = this.settings.sendTimeoutMs;
    const consumer =
      parseDestination(target).kind === "topic"
        ? new TopicConsumer(this.connection, target, handler, timeout, this.settings.onError)
        : new QueueConsumer(this.connection, handler, {
            destination: target,
            deadLetterTo: deadLetterDestination(target),
            prefetch: Math.max(1, Math.floor(options.prefetch ?? 1)),
            maxDeliveries: this.settings.maxDeliveries,
            retryDelayMs: options.retryDelayMs ?? defaultRetryDelayMs,
            confirmTimeoutMs: timeout,
            onError: this.settings.onError,
          });
    this.consumers.add(consumer);
    consumer.start();
    await this.connection.firstAttempt;
    await consumer.confirmed;
    return {
      unsubscribe: async () => {
        this.consumers.delete(consumer);
        await consumer.stop();
      },
      get active() {
        return consumer.active;
      },
    };
  }

  /**
   * Messages waiting in a queue. ActiveMQ: see ActiveMQDepths. RabbitMQ: TransportUnavailableError
   * (its STOMP plugin cannot tell). A topic holds nothing: 0.
   */
  async depth(destination: string): Promise<number> {
    this.assertOpen();
    const target = normalizeDestination(destination);
    const { kind, name } = parseDestination(target);
    if (kind === "topic") return 0;
    if (this.settings.flavour === "rabbitmq") throw rabbitDepthError(target);
    const deadline = Date.now() + this.settings.sendTimeoutMs;
    for (;;) {
      const session = await this.connection.session(deadline, `reading the depth of ${target}`);
      if (session.flavour === "rabbitmq") throw rabbitDepthError(target);
      try {
        return await this.depths.depth(session, name, Math.max(1, deadline - Date.now()));
      } catch (e) {
        if (e instanceof ConnectionLostError && !this.closed && Date.now() < deadline) continue;
        throw e;
      }
    }
  }

  /** See Transport.browse and queue-browser.ts for how each broker is read. */
  async browse(destination: string, limit: number): Promise<QueuedMessage[]> {
    const target = this.queueOnly(destination);
    return this.onSession(`browsing ${target}`, (session, ms) =>
      browseQueue(this.lookPlace(session), target, limit, ms),
    );
  }

  /** See Transport.take and queue-browser.ts for how each broker is read. */
  async take(destination: string, id: string): Promise<QueuedMessage | null> {
    const target = this.queueOnly(destination);
    return this.onSession(`taking a message from ${target}`, (session, ms) =>
      takeFromQueue(this.lookPlace(session), target, id, ms),
    );
  }

  /** Runs `step` on the live session, again on the next one if the connection drops meanwhile. */
  private async onSession<T>(
    purpose: string,
    step: (session: Session, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    this.assertOpen();
    const deadline = Date.now() + this.settings.sendTimeoutMs;
    for (;;) {
      const session = await this.connection.session(deadline, purpose);
      try {
        return await step(session, Math.max(1, deadline - Date.now()));
      } catch (e) {
        if (e instanceof ConnectionLostError && !this.closed && Date.now() < deadline) continue;
        throw e;
      }
    }
  }

  private lookPlace(session: Session): LookPlace {
    return { connection: this.connection, session, credentials: this.settings.credentials };
  }

  private queueOnly(destination: string): string {
    const target = normalizeDestination(destination);
    if (parseDestination(target).kind !== "queue")
      throw new Error(`${target} is a topic: only queues hold messages`);
    return target;
  }

  /** Stops every subscription (waiting for running handlers), then DISCONNECTs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    this.consumers.clear();
    await this.depths.close();
    await this.connection.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("transport is closed");
  }
}
