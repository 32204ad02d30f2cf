import type { Kysely } from "kysely";
import type { Dialect } from "../state-database.ts";

/** Per-holder API tokens (only their SHA-256 is kept). Number 005: 004 is the jobs table. */
export function apiTokensMigration(dialect: Dialect) {
  const id = dialect === "sqlite" ? "integer" : "bigserial";
  const big = dialect === "sqlite" ? "integer" : "bigint";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("api_tokens")
        .addColumn("id", id, (c) => c.primaryKey().notNull())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("instruments", "text", (c) => c.notNull())
        .addColumn("created_by", "text")
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("expires_at", big)
        .addColumn("revoked_at", big)
        .addColumn("last_used_at", big)
        .execute();
    },
  };
}
