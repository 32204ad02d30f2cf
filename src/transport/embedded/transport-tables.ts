import type { Generated, Kysely, Migration } from "kysely";
import type { Dialect } from "../../store/state-database.ts";

/** Tables of the embedded transport, kept in the state database but migrated separately. */
export interface TransportSchema {
  transport_messages: {
    id: Generated<number>;
    message_id: string;
    destination: string;
    body: string;
    /** JSON object of headers. */
    headers: string;
    /** Epoch ms before which the message is not delivered (delayed delivery, retry backoff). */
    available_at: number;
    deliveries: Generated<number>;
    /** Consumer holding the message now, until `lease_until`; an expired lease makes it deliverable again. */
    lease_owner: string | null;
    lease_until: number | null;
    created_at: number;
  };
  transport_topic_messages: {
    id: Generated<number>;
    destination: string;
    body: string;
    headers: string;
    created_at: number;
  };
}

export function transportMigrations(dialect: Dialect): Record<string, Migration> {
  const id = dialect === "sqlite" ? "integer" : "bigserial";
  const big = dialect === "sqlite" ? "integer" : "bigint";
  return {
    "001-queues-and-topics": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("transport_messages")
          .addColumn("id", id, (c) => c.primaryKey().notNull())
          .addColumn("message_id", "text", (c) => c.notNull().unique())
          .addColumn("destination", "text", (c) => c.notNull())
          .addColumn("body", "text", (c) => c.notNull())
          .addColumn("headers", "text", (c) => c.notNull())
          .addColumn("available_at", big, (c) => c.notNull())
          .addColumn("deliveries", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("lease_owner", "text")
          .addColumn("lease_until", big)
          .addColumn("created_at", big, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex("transport_messages_destination")
          .on("transport_messages")
          .columns(["destination", "id"])
          .execute();
        await db.schema
          .createTable("transport_topic_messages")
          .addColumn("id", id, (c) => c.primaryKey().notNull())
          .addColumn("destination", "text", (c) => c.notNull())
          .addColumn("body", "text", (c) => c.notNull())
          .addColumn("headers", "text", (c) => c.notNull())
          .addColumn("created_at", big, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex("transport_topic_messages_destination")
          .on("transport_topic_messages")
          .columns(["destination", "id"])
          .execute();
      },
    },
  };
}
