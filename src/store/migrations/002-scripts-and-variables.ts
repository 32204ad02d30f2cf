import type { Kysely } from "kysely";
import type { Dialect } from "../state-database.ts";

/** Script snapshots and variables on reductions; variable sets with their scope. */
export function scriptsAndVariablesMigration(dialect: Dialect) {
  const id = dialect === "sqlite" ? "integer" : "bigserial";
  const big = dialect === "sqlite" ? "integer" : "bigint";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const column of [
        "script_path",
        "script_text",
        "script_hash",
        "variables",
        "interpreter",
        "convention",
        "description",
      ]) {
        await db.schema.alterTable("reductions").addColumn(column, "text").execute();
      }
      await db.schema.alterTable("reductions").addColumn("variable_set_id", big).execute();
      await db.schema
        .createTable("variable_sets")
        .addColumn("id", id, (c) => c.primaryKey().notNull())
        .addColumn("instrument_id", big, (c) => c.notNull().references("instruments.id"))
        .addColumn("scope", "text", (c) => c.notNull())
        .addColumn("start_run", big)
        .addColumn("experiment", "text")
        .addColumn("values", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("script_hash", "text")
        .addColumn("created_by", "text")
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("deleted_at", big)
        .addColumn("deleted_by", "text")
        .execute();
      await db.schema
        .createIndex("variable_sets_instrument")
        .on("variable_sets")
        .columns(["instrument_id", "scope"])
        .execute();
    },
  };
}
