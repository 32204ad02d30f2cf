import { randomUUID } from "node:crypto";
import type { SqlDatabase } from "../../store/state-database.ts";
import type { MessageHandler } from "../transport.ts";
import { CoalescedRunner } from "./coalesced-runner.ts";
import type { TransportSchema } from "./transport-tables.ts";

/** Topic messages older than this are pruned: topics carry live status, not history. */
const TOPIC_RETENTION_MS = 60_000;
let lastPrune = 0;

/**
 * Delivers each topic message published after subscription to the handler, once, in order.
 * Not durable: a subscriber that is down misses what was published meanwhile (as on a broker).
 */
export class TopicConsumer {
  private stopped = false;
  private readonly reader = new CoalescedRunner(
    () => this.deliverNew(),
    (e) => this.onError(e, `reading topic ${this.destination}`),
  );

  private constructor(
    private readonly database: SqlDatabase<TransportSchema>,
    private readonly destination: string,
    private readonly handler: MessageHandler,
    private readonly onError: (e: unknown, context: string) => void,
    private lastId: number,
  ) {}

  static async start(
    database: SqlDatabase<TransportSchema>,
    destination: string,
    handler: MessageHandler,
    onError: (e: unknown, context: string) => void,
  ): Promise<TopicConsumer> {
    const row = await database.db
      .selectFrom("transport_topic_messages")
      .select((eb) => eb.fn.max("id").as("id"))
      .where("destination", "=", destination)
      .executeTakeFirst();
    return new TopicConsumer(database, destination, handler, onError, Number(row?.id ?? 0));
  }

  static async publish(
    database: SqlDatabase<TransportSchema>,
    destination: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<string> {
    const now = Date.now();
    const id = headers["x-message-id"] ?? randomUUID();
    await database.db
      .insertInto("transport_topic_messages")
      .values({
        destination,
        body,
        headers: JSON.stringify({ ...headers, "x-message-id": id }),
        created_at: now,
      })
      .execute();
    if (now - lastPrune > TOPIC_RETENTION_MS / 4) {
      lastPrune = now;
      await database.db
        .deleteFrom("transport_topic_messages")
        .where("created_at", "<", now - TOPIC_RETENTION_MS)
        .execute();
    }
    return id;
  }

  get active(): number {
    return 0;
  }

  pump(): void {
    this.reader.request();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.reader.stop();
  }

  private async deliverNew(): Promise<void> {
    const rows = await this.database.db
      .selectFrom("transport_topic_messages")
      .select(["id", "body", "headers"])
      .where("destination", "=", this.destination)
      .where("id", ">", this.lastId)
      .orderBy("id")
      .limit(500)
      .execute();
    for (const row of rows) {
      if (this.stopped) return;
      this.lastId = Number(row.id);
      const headers = JSON.parse(row.headers) as Record<string, string>;
      try {
        await this.handler({
          id: headers["x-message-id"] ?? String(row.id),
          destination: this.destination,
          body: row.body,
          headers,
          deliveryCount: 1,
        });
      } catch (e) {
        this.onError(e, `handling a message from ${this.destination}`);
      }
    }
  }
}
