import type { ReductionStatus } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/** One reduction version of a run as people see it (CLI `runs --json`, `GET /api/v1/runs`). */
export interface RunView {
  instrument: string;
  run_number: number;
  experiment: string;
  status: string;
  version: number;
  data_file: string;
  output_dir: string | null;
  title: string | null;
  job_id: string;
  reason: string;
  started_by: string | null;
  message: string | null;
  output_files: string[];
  log_file: string | null;
  err_file: string | null;
  host: string | null;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Script run time in seconds (finished − started), when both are known. */
  duration_seconds: number | null;
  /** What ran: the script file, the sha256 of its exact text, the interpreter, the variables. */
  script_path: string | null;
  script_hash: string | null;
  interpreter: string | null;
  variables: unknown;
  description: string | null;
  /** The queue the job was sent to and the routing rule that chose it (null: the default queue). */
  queue: string | null;
  route: string | null;
  /** Where it ran (`local`, ...) and the highest memory its process tree used, in bytes. */
  executor: string | null;
  peak_memory_bytes: number | null;
  /** While `retrying`: when the next attempt is due. */
  retry_at: string | null;
}

export interface RunQuery {
  instrument?: string | undefined;
  /** Every version instead of the latest of each run. */
  allVersions?: boolean | undefined;
  /** Newest first, at most this many. Default 200. */
  limit?: number | undefined;
  runNumber?: number | undefined;
  status?: string | undefined;
  /** Only runs of these instruments or these experiments (what a viewer may see); absent: all. */
  visibleTo?: { instruments: string[]; experiments: string[] } | undefined;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/** Reduction jobs joined with their run, instrument and experiment: the base of every run view. */
export function reductionsWithRun(database: SqlDatabase) {
  return database.db
    .selectFrom("jobs")
    .innerJoin("runs", "runs.id", "jobs.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .innerJoin("experiments", "experiments.id", "runs.experiment_id")
    .where("jobs.kind", "=", "reduction");
}

/**
 * Each run's latest reduction version with its run, instrument and experiment, found from the
 * run (`runs.latest_job_id`, migration 009; only reductions are ever there) instead of comparing
 * every version. Written as CROSS JOINs with the conditions apart: SQLite keeps that table order
 * (versions newest first by `jobs_created`, then each one's run by `runs_latest_job`), which
 * without statistics it would not choose itself, so a page of a million runs stops after its
 * rows; PostgreSQL plans it as the inner join it is.
 */
function latestReductionsWithRun(database: SqlDatabase) {
  return database.db
    .selectFrom("jobs")
    .crossJoin("runs")
    .crossJoin("instruments")
    .crossJoin("experiments")
    .whereRef("runs.latest_job_id", "=", "jobs.id")
    .whereRef("instruments.id", "=", "runs.instrument_id")
    .whereRef("experiments.id", "=", "runs.experiment_id");
}

/** Runs with their latest (or every) reduction version, newest first. */
export async function listRuns(database: SqlDatabase, query: RunQuery = {}): Promise<RunView[]> {
  let q = (query.allVersions ? reductionsWithRun(database) : latestReductionsWithRun(database)).select([
    "instruments.name as instrument",
    "runs.run_number",
    "experiments.reference as experiment",
    "runs.data_file",
    "runs.title",
    "jobs.status",
    "jobs.version",
    "jobs.output_dir",
    "jobs.job_id",
    "jobs.reason",
    "jobs.started_by",
    "jobs.message",
    "jobs.output_files",
    "jobs.log_file",
    "jobs.err_file",
    "jobs.host",
    "jobs.attempts",
    "jobs.created_at",
    "jobs.started_at",
    "jobs.finished_at",
    "jobs.script_path",
    "jobs.script_hash",
    "jobs.interpreter",
    "jobs.variables",
    "jobs.description",
    "jobs.queue",
    "jobs.route",
    "jobs.executor",
    "jobs.peak_memory_bytes",
    "jobs.retry_at",
  ]);
  if (query.instrument) q = q.where("instruments.name", "=", query.instrument.toUpperCase());
  if (query.runNumber !== undefined) q = q.where("runs.run_number", "=", query.runNumber);
  if (query.status) q = q.where("jobs.status", "=", query.status as ReductionStatus);
  const visible = query.visibleTo;
  if (visible) {
    if (visible.instruments.length === 0 && visible.experiments.length === 0) return [];
    q = q.where((eb) =>
      eb.or([
        ...(visible.instruments.length > 0 ? [eb("instruments.name", "in", visible.instruments)] : []),
        ...(visible.experiments.length > 0 ? [eb("experiments.reference", "in", visible.experiments)] : []),
      ]),
    );
  }
  const rows = await q
    .orderBy("jobs.created_at", "desc")
    .orderBy("jobs.id", "desc")
    .limit(query.limit ?? 200)
    .execute();
  return rows.map((r) => ({
    instrument: r.instrument,
    run_number: Number(r.run_number),
    experiment: r.experiment,
    status: r.status,
    version: Number(r.version),
    data_file: r.data_file,
    output_dir: r.output_dir,
    title: r.title,
    job_id: r.job_id,
    reason: r.reason,
    started_by: r.started_by,
    message: r.message,
    output_files: JSON.parse(r.output_files) as string[],
    log_file: r.log_file,
    err_file: r.err_file,
    host: r.host,
    attempts: Number(r.attempts),
    created_at: iso(r.created_at) ?? "",
    started_at: iso(r.started_at),
    finished_at: iso(r.finished_at),
    script_path: r.script_path,
    script_hash: r.script_hash,
    interpreter: r.interpreter,
    variables: r.variables === null ? null : (JSON.parse(r.variables) as unknown),
    description: r.description,
    queue: r.queue,
    route: r.route,
    executor: r.executor,
    peak_memory_bytes: r.peak_memory_bytes === null ? null : Number(r.peak_memory_bytes),
    retry_at: iso(r.retry_at),
    duration_seconds:
      r.started_at !== null && r.finished_at !== null
        ? (Number(r.finished_at) - Number(r.started_at)) / 1000
        : null,
  }));
}

/** One event of a run's timeline. */
export interface RunEventView {
  destination: string;
  version: number | null;
  at: string;
  body: unknown;
}

/** A run's timeline: every message received or sent about it, oldest first. */
export async function runEvents(
  database: SqlDatabase,
  instrument: string,
  runNumber: number,
): Promise<RunEventView[]> {
  const rows = await database.db
    .selectFrom("job_events")
    .innerJoin("runs", "runs.id", "job_events.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .leftJoin("jobs", "jobs.id", "job_events.job_row_id")
    .select(["job_events.destination", "job_events.body", "job_events.created_at", "jobs.version"])
    .where("instruments.name", "=", instrument.toUpperCase())
    .where("runs.run_number", "=", runNumber)
    .orderBy("job_events.id")
    .execute();
  return rows.map((r) => ({
    destination: r.destination,
    version: r.version === null ? null : Number(r.version),
    at: iso(r.created_at) ?? "",
    body: parseBody(r.body),
  }));
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** Counts of reductions by status (for `autoreduce status`). */
export async function statusCounts(database: SqlDatabase): Promise<Record<string, number>> {
  const rows = await database.db
    .selectFrom("jobs")
    .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
    .where("kind", "=", "reduction")
    .groupBy("status")
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** The exact script text each version of a run ran with, by job id. */
export async function scriptTexts(
  database: SqlDatabase,
  instrument: string,
  runNumber: number,
): Promise<Record<string, string | null>> {
  const rows = await reductionsWithRun(database)
    .select(["jobs.job_id", "jobs.script_text"])
    .where("instruments.name", "=", instrument.toUpperCase())
    .where("runs.run_number", "=", runNumber)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.job_id, r.script_text]));
}
