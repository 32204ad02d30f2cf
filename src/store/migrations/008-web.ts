import type { Kysely } from "kysely";
import type { Dialect } from "../state-database.ts";

/**
 * The web application's tables: people (`users`) and what they may do (`user_instruments`,
 * `experiment_members`), sign-in sessions, uploaded plots, site settings (the banner) and queue
 * depth samples for the admin page. Personal API tokens belong to a user (`api_tokens.user_id`).
 * Catalog data about an experiment (title, PI, dates) lives on `experiments`.
 */
export function webMigration(dialect: Dialect) {
  const id = dialect === "sqlite" ? "integer" : "bigserial";
  const big = dialect === "sqlite" ? "integer" : "bigint";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("users")
        .addColumn("id", id, (c) => c.primaryKey().notNull())
        .addColumn("username", "text", (c) => c.notNull().unique())
        .addColumn("display_name", "text")
        .addColumn("email", "text")
        .addColumn("password_hash", "text")
        .addColumn("provider", "text", (c) => c.notNull())
        .addColumn("admin", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("preferences", "text", (c) => c.notNull().defaultTo("{}"))
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("last_login_at", big)
        .addColumn("disabled_at", big)
        .execute();
      await db.schema
        .createTable("user_instruments")
        .addColumn("user_id", big, (c) => c.notNull())
        .addColumn("instrument", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("granted_by", "text")
        .addColumn("granted_at", big, (c) => c.notNull())
        .addPrimaryKeyConstraint("user_instruments_pk", ["user_id", "instrument"])
        .execute();
      await db.schema
        .createTable("experiment_members")
        .addColumn("experiment", "text", (c) => c.notNull())
        .addColumn("username", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("added_at", big, (c) => c.notNull())
        .addPrimaryKeyConstraint("experiment_members_pk", ["experiment", "username"])
        .execute();
      await db.schema
        .createIndex("experiment_members_username")
        .on("experiment_members")
        .column("username")
        .execute();
      await db.schema.alterTable("experiments").addColumn("title", "text").execute();
      await db.schema.alterTable("experiments").addColumn("catalog", "text").execute();
      await db.schema
        .createTable("sessions")
        .addColumn("id_hash", "text", (c) => c.primaryKey().notNull())
        .addColumn("user_id", big, (c) => c.notNull())
        .addColumn("csrf_token", "text", (c) => c.notNull())
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("last_seen_at", big, (c) => c.notNull())
        .addColumn("expires_at", big, (c) => c.notNull())
        .addColumn("provider", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("sessions_user").on("sessions").column("user_id").execute();
      await db.schema.alterTable("api_tokens").addColumn("user_id", big).execute();
      await db.schema
        .createTable("plots")
        .addColumn("id", id, (c) => c.primaryKey().notNull())
        .addColumn("instrument", "text", (c) => c.notNull())
        .addColumn("run_number", big, (c) => c.notNull())
        .addColumn("version", big)
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("figure", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("uploaded_by", "text")
        .addColumn("created_at", big, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("plots_run")
        .on("plots")
        .columns(["instrument", "run_number", "id"])
        .execute();
      await db.schema
        .createTable("site_settings")
        .addColumn("key", "text", (c) => c.primaryKey().notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addColumn("updated_by", "text")
        .addColumn("updated_at", big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("queue_depth_samples")
        .addColumn("sampled_at", big, (c) => c.notNull())
        .addColumn("queue", "text", (c) => c.notNull())
        .addColumn("depth", big, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("queue_depth_samples_at")
        .on("queue_depth_samples")
        .column("sampled_at")
        .execute();
    },
  };
}
