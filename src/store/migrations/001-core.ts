import type { Kysely } from "kysely";
import type { Dialect } from "../state-database.ts";

/** The core tables: instruments, experiments, runs, reductions, run_events, archive_files. */
export function coreMigration(dialect: Dialect) {
  const id = dialect === "sqlite" ? "integer" : "bigserial";
  const big = dialect === "sqlite" ? "integer" : "bigint";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("instruments")
        .addColumn("id", id, (c) => c.primaryKey().notNull())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("facility", "text", (c) => c.notNull())
        .addColumn("paused", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("experiments")
        .addColumn("id", id, (c) => c.primaryKey().notNull())
        .addColumn("reference", "text", (c) => c.notNull().unique())
        .addColumn("created_at", big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("runs")
        .addColumn("id", id, (c) => c.primaryKey().notNull())
        .addColumn("instrument_id", big, (c) => c.notNull().references("instruments.id"))
        .addColumn("experiment_id", big, (c) => c.notNull().references("experiments.id"))
        .addColumn("run_number", big, (c) => c.notNull())
        .addColumn("data_file", "text", (c) => c.notNull())
        .addColumn("title", "text")
        .addColumn("start_time", "text")
        .addColumn("end_time", "text")
        .addColumn("metadata", "text", (c) => c.notNull().defaultTo("{}"))
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("updated_at", big, (c) => c.notNull())
        .addUniqueConstraint("runs_instrument_run", ["instrument_id", "run_number"])
        .execute();
      await db.schema.createIndex("runs_experiment").on("runs").column("experiment_id").execute();
      await db.schema
        .createTable("reductions")
        .addColumn("id", id, (c) => c.primaryKey().notNull())
        .addColumn("run_id", big, (c) => c.notNull().references("runs.id"))
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("job_id", "text", (c) => c.notNull().unique())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("started_by", "text")
        .addColumn("dedupe_key", "text")
        .addColumn("message", "text")
        .addColumn("output_dir", "text")
        .addColumn("output_files", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("log_file", "text")
        .addColumn("err_file", "text")
        .addColumn("host", "text")
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("exit_code", "integer")
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("dispatched_at", big)
        .addColumn("started_at", big)
        .addColumn("finished_at", big)
        .addColumn("updated_at", big, (c) => c.notNull())
        .addUniqueConstraint("reductions_run_version", ["run_id", "version"])
        .execute();
      await db.schema.createIndex("reductions_status").on("reductions").column("status").execute();
      await db.schema.createIndex("reductions_dedupe").on("reductions").column("dedupe_key").execute();
      await db.schema
        .createTable("run_events")
        .addColumn("id", id, (c) => c.primaryKey().notNull())
        .addColumn("run_id", big, (c) => c.references("runs.id"))
        .addColumn("reduction_id", big, (c) => c.references("reductions.id"))
        .addColumn("destination", "text", (c) => c.notNull())
        .addColumn("message_id", "text", (c) => c.unique())
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("created_at", big, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("run_events_run").on("run_events").columns(["run_id", "id"]).execute();
      await db.schema
        .createTable("archive_files")
        .addColumn("path", "text", (c) => c.primaryKey().notNull())
        .addColumn("instrument", "text", (c) => c.notNull())
        .addColumn("run_number", big, (c) => c.notNull())
        .addColumn("size", big, (c) => c.notNull())
        .addColumn("mtime_ms", big, (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("note", "text")
        .addColumn("recorded_at", big, (c) => c.notNull())
        .execute();
    },
  };
}
