import type { JobKind, JobStatus } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/** One job of any kind as people see it (CLI `jobs --json`, `GET /api/v1/jobs`). */
export interface JobView {
  /** Row id: the page cursor (`before`), newest first. */
  id: number;
  kind: JobKind;
  job_id: string;
  /** What it belongs to: `<INSTRUMENT> run <N>` for a reduction, else the stored subject (rule, instrument, trigger). */
  subject: string;
  /** Reductions only (null for the other kinds): the run and its version. */
  instrument: string | null;
  run_number: number | null;
  experiment: string | null;
  version: number | null;
  status: JobStatus;
  /** Who started it and why. */
  reason: string;
  started_by: string | null;
  description: string | null;
  /** What ran: the script file, the sha256 of its exact text, the interpreter, arguments and variables. */
  script_path: string | null;
  script_hash: string | null;
  interpreter: string | null;
  arguments: unknown;
  variables: unknown;
  /** Where it ran: executor, host, the executor's id of it (pid, Slurm job id), the queue it was sent to. */
  executor: string | null;
  host: string | null;
  external_id: string | null;
  queue: string | null;
  log_file: string | null;
  err_file: string | null;
  output_dir: string | null;
  attempts: number;
  exit_code: number | null;
  peak_memory_bytes: number | null;
  message: string | null;
  created_at: string;
  dispatched_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  /** Script run time in seconds (finished − started), when both are known. */
  duration_seconds: number | null;
}

export interface JobQuery {
  kind?: JobKind | undefined;
  status?: JobStatus | undefined;
  /** Jobs whose stored subject is this (watch rule, live instrument, trigger name). */
  subject?: string | undefined;
  /** Keyset page: only jobs with a smaller id than this (the last `id` of the previous page). */
  before?: number | undefined;
  /** At most this many, newest first. Default 100. */
  limit?: number | undefined;
}

/** One event of a job's timeline. */
export interface JobEventView {
  destination: string;
  at: string;
  body: unknown;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const json = (text: string | null): unknown => (text === null ? null : parseBody(text));

function jobsWithRun(database: SqlDatabase) {
  return database.db
    .selectFrom("jobs")
    .leftJoin("runs", "runs.id", "jobs.run_id")
    .leftJoin("instruments", "instruments.id", "runs.instrument_id")
    .leftJoin("experiments", "experiments.id", "runs.experiment_id")
    .selectAll("jobs")
    .select(["instruments.name as instrument", "runs.run_number", "experiments.reference as experiment"]);
}

type JobWithRun = Awaited<ReturnType<ReturnType<typeof jobsWithRun>["executeTakeFirstOrThrow"]>>;

/** Jobs of every kind, newest first, one keyset page (never OFFSET: pages stay cheap and stable). */
export async function listJobs(database: SqlDatabase, query: JobQuery = {}): Promise<JobView[]> {
  let q = jobsWithRun(database);
  if (query.kind) q = q.where("jobs.kind", "=", query.kind);
  if (query.status) q = q.where("jobs.status", "=", query.status);
  if (query.subject) q = q.where("jobs.subject", "=", query.subject);
  if (query.before !== undefined) q = q.where("jobs.id", "<", query.before);
  const rows = await q
    .orderBy("jobs.id", "desc")
    .limit(query.limit ?? 100)
    .execute();
  return rows.map(toView);
}

/** One job (by its id in messages, any kind) with its events, oldest first; null if unknown. */
export async function jobDetail(
  database: SqlDatabase,
  jobId: string,
): Promise<{ job: JobView; script_text: string | null; events: JobEventView[] } | null> {
  const row = await jobsWithRun(database).where("jobs.job_id", "=", jobId).executeTakeFirst();
  if (!row) return null;
  const events = await database.db
    .selectFrom("job_events")
    .select(["destination", "body", "created_at"])
    .where("job_row_id", "=", row.id)
    .orderBy("id")
    .execute();
  return {
    job: toView(row),
    script_text: row.script_text,
    events: events.map((e) => ({
      destination: e.destination,
      at: iso(e.created_at) ?? "",
      body: parseBody(e.body),
    })),
  };
}

function toView(r: JobWithRun): JobView {
  const runNumber = r.run_number === null ? null : Number(r.run_number);
  return {
    id: Number(r.id),
    kind: r.kind,
    job_id: r.job_id,
    subject: r.subject ?? `${r.instrument ?? "?"} run ${runNumber ?? "?"}`,
    instrument: r.instrument,
    run_number: runNumber,
    experiment: r.experiment,
    version: r.version === null ? null : Number(r.version),
    status: r.status,
    reason: r.reason,
    started_by: r.started_by,
    description: r.description,
    script_path: r.script_path,
    script_hash: r.script_hash,
    interpreter: r.interpreter,
    arguments: json(r.arguments),
    variables: json(r.variables),
    executor: r.executor,
    host: r.host,
    external_id: r.external_id,
    queue: r.queue,
    log_file: r.log_file,
    err_file: r.err_file,
    output_dir: r.output_dir,
    attempts: Number(r.attempts),
    exit_code: r.exit_code === null ? null : Number(r.exit_code),
    peak_memory_bytes: r.peak_memory_bytes === null ? null : Number(r.peak_memory_bytes),
    message: r.message,
    created_at: iso(r.created_at) ?? "",
    dispatched_at: iso(r.dispatched_at),
    started_at: iso(r.started_at),
    finished_at: iso(r.finished_at),
    updated_at: iso(r.updated_at) ?? "",
    duration_seconds:
      r.started_at !== null && r.finished_at !== null
        ? (Number(r.finished_at) - Number(r.started_at)) / 1000
        : null,
  };
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
