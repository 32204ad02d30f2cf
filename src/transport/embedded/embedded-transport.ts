import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import {
  deadLetterDestination,
  normalizeDestination,
  parseDestination,
} from "../../messages/destinations.ts";
import { migrate, type SqlDatabase } from "../../store/state-database.ts";
import {
  defaultRetryDelayMs,
  type MessageHandler,
  type OutgoingMessage,
  type QueuedMessage,
  type SubscribeOptions,
  type Subscription,
  type Transport,
} from "../transport.ts";
import { type ChangeFeed, openChangeFeed } from "./change-feed.ts";
import { CoalescedRunner } from "./coalesced-runner.ts";
import { QueueConsumer } from "./queue-consumer.ts";
import { QueueStatements } from "./queue-statements.ts";
import { TopicConsumer } from "./topic-consumer.ts";
import { type TransportSchema, transportMigrations } from "./transport-tables.ts";

export interface EmbeddedTransportOptions {
  /** Lease on a claimed message, renewed while its handler runs. Default 30 s. */
  leaseMs?: number;
  /** Deliveries before a message is dead-lettered. Default 5. */
  maxDeliveries?: number;
  /** Safety-net poll period. Default 250 ms. */
  pollIntervalMs?: number;
  /** Where handler and database errors are reported. Default: stderr. */
  onError?: (error: unknown, context: string) => void;
}

/**
 * Durable queues and topics kept in tables of the state database (SQLite or PostgreSQL), for
 * the single-machine deployment. Works between separate OS processes sharing the database.
 */
export class EmbeddedTransport implements Transport {
  private readonly statements: QueueStatements;
  private readonly consumers = new Map<QueueConsumer | TopicConsumer, string>();
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly timer: NodeJS.Timeout;
  private readonly stopFeed: () => void;
  private closed = false;

  private constructor(
    private readonly database: SqlDatabase<TransportSchema>,
    private readonly feed: ChangeFeed,
    private readonly options: Required<EmbeddedTransportOptions>,
  ) {
    this.statements = new QueueStatements(database);
    // A change from another process (null) may be on any destination (the feed has already
    // gathered the file events of one commit into one signal); so may time (a delay or a lease
    // running out), which the poll is for. Both look once for which queues have work.
    this.stopFeed = feed.onChange((destination) =>
      destination ? this.wake(destination) : this.wakeWhereWork.request(),
    );
    this.timer = setInterval(() => this.wakeWhereWork.request(), options.pollIntervalMs);
    this.timer.unref();
  }

  /** Creates the transport's tables if needed and starts watching for changes. */
  static async open(
    database: SqlDatabase<unknown>,
    options: EmbeddedTransportOptions = {},
  ): Promise<EmbeddedTransport> {
    await migrate(database, transportMigrations(database.dialect), "transport_migrations");
    const full: Required<EmbeddedTransportOptions> = {
      leaseMs: options.leaseMs ?? 30_000,
      maxDeliveries: options.maxDeliveries ?? 5,
      pollIntervalMs: options.pollIntervalMs ?? 250,
      onError: options.onError ?? ((e, context) => console.error(`transport: ${context}:`, e)),
    };
    return new EmbeddedTransport(database as SqlDatabase<TransportSchema>, openChangeFeed(database), full);
  }

  async send(destination: string, message: OutgoingMessage): Promise<string> {
    this.assertOpen();
    const target = normalizeDestination(destination);
    const headers = { ...(message.headers ?? {}) };
    let id: string;
    if (parseDestination(target).kind === "topic") {
      id = await TopicConsumer.publish(this.database, target, message.body, headers);
    } else {
      id = await this.statements.insert(target, message.body, headers, message.delayMs ?? 0);
    }
    await this.feed.notify(target);
    return id;
  }

  async subscribe(
    destination: string,
    handler: MessageHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    this.assertOpen();
    const target = normalizeDestination(destination);
    const consumer =
      parseDestination(target).kind === "topic"
        ? await TopicConsumer.start(this.database, target, handler, this.options.onError)
        : new QueueConsumer(this.statements, handler, {
            destination: target,
            owner: this.owner,
            prefetch: Math.max(1, options.prefetch ?? 1),
            leaseMs: this.options.leaseMs,
            maxDeliveries: this.options.maxDeliveries,
            deadLetterTo: deadLetterDestination(target),
            retryDelayMs: options.retryDelayMs ?? defaultRetryDelayMs,
            onError: this.options.onError,
          });
    this.consumers.set(consumer, target);
    consumer.pump();
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

  async depth(destination: string): Promise<number> {
    return this.statements.depth(normalizeDestination(destination));
  }

  async browse(destination: string, limit: number): Promise<QueuedMessage[]> {
    this.assertOpen();
    return this.statements.browse(queueOnly(destination), limit);
  }

  async take(destination: string, id: string): Promise<QueuedMessage | null> {
    this.assertOpen();
    return this.statements.take(queueOnly(destination), id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.wakeWhereWork.stop();
    this.stopFeed();
    await Promise.all([...this.consumers.keys()].map((c) => c.stop()));
    this.consumers.clear();
    await this.feed.close();
  }

  /** Wakes the topic consumers and the queue consumers whose queue has a deliverable message. */
  private readonly wakeWhereWork = new CoalescedRunner(
    async () => {
      const queues = [...this.consumers].flatMap(([c, target]) =>
        c instanceof QueueConsumer ? [target] : [],
      );
      let ready: Set<string>;
      try {
        ready = await this.statements.destinationsWithWork([...new Set(queues)]);
      } catch (e) {
        this.wake(); // cannot tell: every consumer looks for itself
        throw e;
      }
      for (const [consumer, target] of this.consumers)
        if (!(consumer instanceof QueueConsumer) || ready.has(target)) consumer.pump();
    },
    (e) => this.options.onError(e, "looking for queues with work"),
  );

  /** Looks for work: on one destination, or on all. */
  private wake(destination?: string): void {
    for (const [consumer, target] of this.consumers)
      if (!destination || target === destination) consumer.pump();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("transport is closed");
  }
}

/** The canonical queue name; a topic holds nothing to browse or take. */
function queueOnly(destination: string): string {
  const target = normalizeDestination(destination);
  if (parseDestination(target).kind !== "queue")
    throw new Error(`${target} is a topic: only queues hold messages`);
  return target;
}
