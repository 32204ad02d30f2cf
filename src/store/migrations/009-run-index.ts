import { type Kysely, sql } from "kysely";
import type { Dialect } from "../state-database.ts";

/**
 * The runs index (web `/`) lists a million runs by their latest version's status. Reading that
 * status from `jobs` (one row per version) costs a look-up per run, so `runs` carries its latest
 * reduction version's row id, number and status (`latest_job_id`, `latest_version`,
 * `latest_status`), written in the transaction that creates a version or changes a status
 * (store/run-index.ts `noteReductionJob`), and filled here for the runs recorded before.
 *
 * Indexes serve each filter in the index's order (newest first is `id` descending), so a page
 * stops after 50 rows: by instrument, status, both, experiment, run number, and date. Title
 * search ("contains") needs a trigram index: SQLite's FTS5 `trigram` table kept by triggers;
 * PostgreSQL's `pg_trgm`, made only where the extension may be created (else titles are scanned).
 */
export function runIndexMigration(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const big = dialect === "sqlite" ? "integer" : "bigint";
      await db.schema.alterTable("runs").addColumn("latest_job_id", big).execute();
      await db.schema.alterTable("runs").addColumn("latest_version", "integer").execute();
      await db.schema.alterTable("runs").addColumn("latest_status", "text").execute();
      await sql`
        update runs set
          latest_job_id = (${latestJob(sql`j.id`)}),
          latest_version = (${latestJob(sql`j.version`)}),
          latest_status = (${latestJob(sql`j.status`)})`.execute(db);
      const indexes: Array<[string, string[]]> = [
        ["runs_instrument_id", ["instrument_id", "id"]],
        ["runs_instrument_status", ["instrument_id", "latest_status", "id"]],
        ["runs_status", ["latest_status", "id"]],
        ["runs_experiment_id", ["experiment_id", "id"]],
        ["runs_run_number", ["run_number", "id"]],
        ["runs_created", ["created_at"]],
      ];
      for (const [name, columns] of indexes)
        await db.schema.createIndex(name).on("runs").columns(columns).execute();
      // `runs --json` and `GET /api/v1/runs` list latest versions newest first (run-views.ts):
      // versions by creation, each checked against its run's latest.
      await db.schema.createIndex("jobs_created").on("jobs").columns(["created_at", "id"]).execute();
      await db.schema.createIndex("runs_latest_job").on("runs").column("latest_job_id").execute();
      // Replaced by runs_experiment_id, which also gives the experiment's runs in page order.
      await db.schema.dropIndex("runs_experiment").execute();
      if (dialect === "sqlite") await sqliteTitleSearch(db);
      else await postgresTitleSearch(db);
    },
  };
}

/** A column of a run's latest reduction version (a correlated subquery on `runs`). */
function latestJob(column: ReturnType<typeof sql>) {
  return sql`select ${column} from jobs j where j.run_id = runs.id and j.kind = 'reduction' order by j.version desc limit 1`;
}

/** FTS5 with the trigram tokenizer over `runs.title` (external content: the titles stay in `runs`). */
async function sqliteTitleSearch(db: Kysely<unknown>): Promise<void> {
  const statements = [
    sql`create virtual table runs_title_search using fts5(title, content='runs', content_rowid='id', tokenize='trigram')`,
    sql`create trigger runs_title_search_insert after insert on runs begin
          insert into runs_title_search (rowid, title) values (new.id, new.title);
        end`,
    sql`create trigger runs_title_search_update after update of title on runs begin
          insert into runs_title_search (runs_title_search, rowid, title) values ('delete', old.id, old.title);
          insert into runs_title_search (rowid, title) values (new.id, new.title);
        end`,
    sql`create trigger runs_title_search_delete after delete on runs begin
          insert into runs_title_search (runs_title_search, rowid, title) values ('delete', old.id, old.title);
        end`,
    sql`insert into runs_title_search (runs_title_search) values ('rebuild')`,
  ];
  for (const statement of statements) await statement.execute(db);
}

/**
 * A trigram index on `runs.title` when `pg_trgm` can be had: a superuser, or (PostgreSQL 13 on,
 * where it is a trusted extension) a role that may create in this database. Otherwise title
 * search scans, which is correct but slower on a large database (docs/performance.md).
 */
async function postgresTitleSearch(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ ok: boolean }>`
    select exists (select 1 from pg_available_extensions where name = 'pg_trgm')
      and has_database_privilege(current_database(), 'CREATE')
      and ((select rolsuper from pg_roles where rolname = current_user)
        or current_setting('server_version_num')::int >= 130000) as ok`.execute(db);
  if (!rows[0]?.ok) return;
  await sql`create extension if not exists pg_trgm`.execute(db);
  await sql`create index runs_title_trigram on runs using gin (title gin_trgm_ops)`.execute(db);
}
