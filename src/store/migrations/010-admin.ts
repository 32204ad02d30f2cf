import type { Kysely } from "kysely";
import type { Dialect } from "../state-database.ts";

/**
 * The admin page's acknowledgement of failures: an operator who has looked at a failed job hides
 * it from the list of failures (`jobs.hidden_at`, `jobs.hidden_by`); the job itself, its run and
 * its status are unchanged, and hidden ones can still be listed.
 */
export function adminMigration(dialect: Dialect) {
  const big = dialect === "sqlite" ? "integer" : "bigint";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable("jobs").addColumn("hidden_at", big).execute();
      await db.schema.alterTable("jobs").addColumn("hidden_by", "text").execute();
    },
  };
}
