import { randomUUID } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { SqlDatabase } from "../../store/state-database.ts";
import { DEAD_LETTER_REASON_HEADER, ORIGINAL_DESTINATION_HEADER, type QueuedMessage } from "../transport.ts";
import type { TransportSchema } from "./transport-tables.ts";

/** A message claimed by one consumer under a lease. */
export interface ClaimedRow {
  id: number;
  message_id: string;
  body: string;
  headers: string;
  deliveries: number;
}

/** The queue operations, each one atomic SQL statement (or one transaction for dead-lettering). */
export class QueueStatements {
  private readonly db: Kysely<TransportSchema>;
  constructor(private readonly database: SqlDatabase<TransportSchema>) {
    this.db = database.db;
  }

  async insert(
    destination: string,
    body: string,
    headers: Record<string, string>,
    delayMs: number,
  ): Promise<string> {
    const now = Date.now();
    const messageId = headers["x-message-id"] ?? randomUUID();
    await this.db
      .insertInto("transport_messages")
      .values({
        message_id: messageId,
        destination,
        body,
        headers: JSON.stringify(headers),
        available_at: now + Math.max(0, delayMs),
        lease_owner: null,
        lease_until: null,
        created_at: now,
      })
      .execute();
    return messageId;
  }

  /** Takes the oldest deliverable message of a destination, or null. */
  async claim(destination: string, owner: string, leaseMs: number): Promise<ClaimedRow | null> {
    const now = Date.now();
    const lock = this.database.dialect === "postgres" ? sql`for update skip locked` : sql``;
    const result = await sql<ClaimedRow>`
      update transport_messages
         set lease_owner = ${owner}, lease_until = ${now + leaseMs}, deliveries = deliveries + 1
       where id = (select id from transport_messages
                    where destination = ${destination}
                      and available_at <= ${now}
                      and (lease_until is null or lease_until < ${now})
                    order by id limit 1 ${lock})
      returning id, message_id, body, headers, deliveries`.execute(this.db);
    return result.rows[0] ?? null;
  }

  /**
   * Which of `destinations` hold a deliverable message now (what `claim` would take): one look
   * for all of them, so that a change made elsewhere wakes only the consumers that have work.
   */
  async destinationsWithWork(destinations: readonly string[]): Promise<Set<string>> {
    if (destinations.length === 0) return new Set();
    const now = Date.now();
    const rows = await this.db
      .selectFrom("transport_messages")
      .select("destination")
      .distinct()
      .where("destination", "in", [...destinations])
      .where("available_at", "<=", now)
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
      .execute();
    return new Set(rows.map((r) => r.destination));
  }

  /** Extends a lease; false if the lease was lost (another consumer may have the message now). */
  async renew(id: number, owner: string, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable("transport_messages")
      .set({ lease_until: Date.now() + leaseMs })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async ack(id: number, owner: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("transport_messages")
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Gives a message back, deliverable again after `delayMs`. */
  async release(id: number, owner: string, delayMs: number): Promise<void> {
    await this.db
      .updateTable("transport_messages")
      .set({ lease_owner: null, lease_until: null, available_at: Date.now() + delayMs })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .execute();
  }

  /** Moves a message to the dead-letter destination with the reason, in one transaction. */
  async deadLetter(
    row: ClaimedRow,
    owner: string,
    source: string,
    target: string,
    reason: string,
  ): Promise<void> {
    await this.database.transaction(async (trx) => {
      const deleted = await trx
        .deleteFrom("transport_messages")
        .where("id", "=", row.id)
        .where("lease_owner", "=", owner)
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) return;
      const headers = {
        ...JSON.parse(row.headers),
        [DEAD_LETTER_REASON_HEADER]: reason,
        [ORIGINAL_DESTINATION_HEADER]: source,
      };
      const now = Date.now();
      await trx
        .insertInto("transport_messages")
        .values({
          message_id: randomUUID(),
          destination: target,
          body: row.body,
          headers: JSON.stringify(headers),
          available_at: now,
          lease_owner: null,
          lease_until: null,
          created_at: now,
        })
        .execute();
    });
  }

  async depth(destination: string): Promise<number> {
    const now = Date.now();
    const row = await this.db
      .selectFrom("transport_messages")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("destination", "=", destination)
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Waiting messages (not held by a consumer), oldest first; delayed ones included. */
  async browse(destination: string, limit: number): Promise<QueuedMessage[]> {
    const now = Date.now();
    const rows = await this.db
      .selectFrom("transport_messages")
      .select(["message_id", "body", "headers", "created_at"])
      .where("destination", "=", destination)
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
      .orderBy("id")
      .limit(Math.max(1, Math.floor(limit)))
      .execute();
    return rows.map((row) => queued(destination, row));
  }

  /** Deletes one waiting message by its id, in one statement, and returns it. */
  async take(destination: string, messageId: string): Promise<QueuedMessage | null> {
    const now = Date.now();
    const row = await this.db
      .deleteFrom("transport_messages")
      .where("destination", "=", destination)
      .where("message_id", "=", messageId)
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
      .returning(["message_id", "body", "headers", "created_at"])
      .executeTakeFirst();
    return row ? queued(destination, row) : null;
  }
}

function queued(
  destination: string,
  row: { message_id: string; body: string; headers: string; created_at: number },
): QueuedMessage {
  return {
    id: row.message_id,
    destination,
    body: row.body,
    headers: JSON.parse(row.headers) as Record<string, string>,
    enqueuedAt: Number(row.created_at),
  };
}
