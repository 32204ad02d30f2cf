import { type Kysely, sql } from "kysely";
import type { Dialect } from "../state-database.ts";

/**
 * Every execution is a job: `reductions` becomes `jobs` with a `kind` (`reduction | watch |
 * trigger | live`), a `subject` for the kinds that have no run, the command-line `arguments`
 * and the executor's `external_id` (pid, Slurm job id). `run_id` and `version` may be null, but
 * a CHECK keeps them required for reductions. `run_events` becomes `job_events`, its
 * `reduction_id` becomes `job_row_id` (any kind). Every existing row is kept, as a reduction.
 *
 * PostgreSQL changes the tables in place. SQLite cannot drop a NOT NULL or add a CHECK, so it
 * builds the new tables, copies, and drops the old ones (events first: nothing refers to them,
 * then nothing refers to `reductions` any more), which keeps foreign keys valid at every step
 * without switching them off (a pragma that is ignored inside the migration's transaction).
 */
export function jobsMigration(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect === "postgres") await inPlace(db);
      else await rebuild(db);
      await sql`create index jobs_kind on jobs (kind, id)`.execute(db);
      await sql`create index jobs_subject on jobs (subject, id)`.execute(db);
      await sql`create index job_events_job on job_events (job_row_id, id)`.execute(db);
    },
  };
}

const KIND_CHECK = sql`check (kind in ('reduction', 'watch', 'trigger', 'live'))`;
const RUN_CHECK = sql`check (kind <> 'reduction' or (run_id is not null and version is not null))`;
const SUBJECT_CHECK = sql`check (kind = 'reduction' or subject is not null)`;

async function inPlace(db: Kysely<unknown>): Promise<void> {
  const statements = [
    sql`alter table reductions rename to jobs`,
    sql`alter table jobs rename constraint reductions_run_version to jobs_run_version`,
    sql`alter index reductions_status rename to jobs_status`,
    sql`alter index reductions_dedupe rename to jobs_dedupe`,
    sql`alter table jobs add column kind text not null default 'reduction'`,
    sql`alter table jobs add column subject text`,
    sql`alter table jobs add column arguments text`,
    sql`alter table jobs add column external_id text`,
    sql`alter table jobs alter column run_id drop not null`,
    sql`alter table jobs alter column version drop not null`,
    sql`alter table jobs add constraint jobs_kind ${KIND_CHECK}`,
    sql`alter table jobs add constraint jobs_reduction_has_run ${RUN_CHECK}`,
    sql`alter table jobs add constraint jobs_other_has_subject ${SUBJECT_CHECK}`,
    sql`alter table run_events rename to job_events`,
    sql`alter table job_events rename column reduction_id to job_row_id`,
    sql`alter index run_events_run rename to job_events_run`,
  ];
  for (const statement of statements) await statement.execute(db);
}

/** The columns `reductions` had after migration 003, copied as they are. */
const REDUCTION_COLUMNS = sql.raw(
  [
    "id",
    "run_id",
    "version",
    "job_id",
    "status",
    "reason",
    "started_by",
    "dedupe_key",
    "message",
    "output_dir",
    "output_files",
    "log_file",
    "err_file",
    "host",
    "attempts",
    "exit_code",
    "created_at",
    "dispatched_at",
    "started_at",
    "finished_at",
    "updated_at",
    "script_path",
    "script_text",
    "script_hash",
    "variables",
    "interpreter",
    "convention",
    "description",
    "variable_set_id",
    "queue",
    "route",
    "executor",
    "peak_memory_bytes",
    "retry_at",
  ].join(", "),
);

async function rebuild(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table jobs (
      id integer primary key not null,
      kind text not null default 'reduction',
      run_id integer references runs (id),
      version integer,
      subject text,
      job_id text not null unique,
      status text not null,
      reason text not null,
      started_by text,
      dedupe_key text,
      message text,
      output_dir text,
      output_files text not null default '[]',
      log_file text,
      err_file text,
      host text,
      external_id text,
      attempts integer not null default 0,
      exit_code integer,
      created_at integer not null,
      dispatched_at integer,
      started_at integer,
      finished_at integer,
      updated_at integer not null,
      script_path text,
      script_text text,
      script_hash text,
      variables text,
      arguments text,
      interpreter text,
      convention text,
      description text,
      variable_set_id integer,
      queue text,
      route text,
      executor text,
      peak_memory_bytes integer,
      retry_at integer,
      constraint jobs_run_version unique (run_id, version),
      constraint jobs_kind ${KIND_CHECK},
      constraint jobs_reduction_has_run ${RUN_CHECK},
      constraint jobs_other_has_subject ${SUBJECT_CHECK}
    )`.execute(db);
  await sql`insert into jobs (${REDUCTION_COLUMNS}) select ${REDUCTION_COLUMNS} from reductions`.execute(db);
  await sql`
    create table job_events (
      id integer primary key not null,
      run_id integer references runs (id),
      job_row_id integer references jobs (id),
      destination text not null,
      message_id text unique,
      body text not null,
      created_at integer not null
    )`.execute(db);
  await sql`
    insert into job_events (id, run_id, job_row_id, destination, message_id, body, created_at)
    select id, run_id, reduction_id, destination, message_id, body, created_at from run_events`.execute(db);
  await sql`drop table run_events`.execute(db);
  await sql`drop table reductions`.execute(db);
  await sql`create index jobs_status on jobs (status)`.execute(db);
  await sql`create index jobs_dedupe on jobs (dedupe_key)`.execute(db);
  await sql`create index job_events_run on job_events (run_id, id)`.execute(db);
}
