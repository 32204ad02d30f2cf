import type { Kysely } from "kysely";
import type { Dialect } from "../state-database.ts";

/** Daemon heartbeats, routing rules, and the queue and executor each reduction was sent through. */
export function workersMigration(dialect: Dialect) {
  const id = dialect === "sqlite" ? "integer" : "bigserial";
  const big = dialect === "sqlite" ? "integer" : "bigint";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable("reductions").addColumn("queue", "text").execute();
      await db.schema.alterTable("reductions").addColumn("route", "text").execute();
      await db.schema.alterTable("reductions").addColumn("executor", "text").execute();
      await db.schema.alterTable("reductions").addColumn("peak_memory_bytes", big).execute();
      await db.schema.alterTable("reductions").addColumn("retry_at", big).execute();
      await db.schema
        .createTable("heartbeats")
        .addColumn("daemon", "text", (c) => c.primaryKey().notNull())
        .addColumn("src_name", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("pid", big, (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("first_seen_at", big, (c) => c.notNull())
        .addColumn("last_seen_at", big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("routing_rules")
        .addColumn("id", id, (c) => c.primaryKey().notNull())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("priority", big, (c) => c.notNull())
        .addColumn("instrument", "text")
        .addColumn("title", "text")
        .addColumn("sample", "text")
        .addColumn("min_file_bytes", big)
        .addColumn("queue", "text", (c) => c.notNull())
        .addColumn("created_by", "text")
        .addColumn("created_at", big, (c) => c.notNull())
        .execute();
    },
  };
}
