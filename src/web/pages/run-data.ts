import type { FastifyReply, FastifyRequest } from "fastify";
import { sql } from "kysely";
import { z } from "zod";
import { reductionsWithRun } from "../../store/run-views.ts";
import type { JobStatus } from "../../store/schema.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import { canReadInstrument, canReadRun } from "../auth/viewer.ts";
import type { WebContext } from "../web-context.ts";

/** One reduction version of a run with everything the run page shows about it (times in epoch ms). */
export interface VersionRow {
  job_id: string;
  version: number;
  status: JobStatus;
  reason: string;
  started_by: string | null;
  description: string | null;
  message: string | null;
  created_at: number;
  dispatched_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  retry_at: number | null;
  /** Script run time in seconds, when it started and finished. */
  duration_seconds: number | null;
  host: string | null;
  executor: string | null;
  external_id: string | null;
  queue: string | null;
  route: string | null;
  peak_memory_bytes: number | null;
  exit_code: number | null;
  attempts: number;
  output_dir: string | null;
  output_files: string[];
  log_file: string | null;
  err_file: string | null;
  script_path: string | null;
  script_hash: string | null;
  /** The exact script text was recorded (a re-run can run it again). */
  has_script_text: boolean;
  interpreter: string | null;
  /** The stored variables (parsed JSON), null when the script had none. */
  variables: unknown;
}

/** A run and all its versions, oldest version first. */
export interface RunRecord {
  instrument: string;
  run_number: number;
  experiment: string;
  experiment_title: string | null;
  title: string | null;
  data_file: string;
  versions: VersionRow[];
}

/** Statuses of a version that is not finished: it may still change, and can be cancelled. */
export const UNFINISHED: readonly JobStatus[] = ["queued", "retrying", "running"];

const num = (v: number | string | null) => (v === null ? null : Number(v));

/** A run with every version (no script text: that is read for the versions shown only). */
export async function loadRun(
  database: SqlDatabase,
  instrument: string,
  run: number,
): Promise<RunRecord | null> {
  const rows = await reductionsWithRun(database)
    .select([
      "instruments.name as instrument",
      "runs.run_number",
      "runs.data_file",
      "runs.title",
      "experiments.reference as experiment",
      "experiments.title as experiment_title",
      "jobs.job_id",
      "jobs.version",
      "jobs.status",
      "jobs.reason",
      "jobs.started_by",
      "jobs.description",
      "jobs.message",
      "jobs.created_at",
      "jobs.dispatched_at",
      "jobs.started_at",
      "jobs.finished_at",
      "jobs.retry_at",
      "jobs.host",
      "jobs.executor",
      "jobs.external_id",
      "jobs.queue",
      "jobs.route",
      "jobs.peak_memory_bytes",
      "jobs.exit_code",
      "jobs.attempts",
      "jobs.output_dir",
      "jobs.output_files",
      "jobs.log_file",
      "jobs.err_file",
      "jobs.script_path",
      "jobs.script_hash",
      "jobs.interpreter",
      "jobs.variables",
      sql<number | boolean>`jobs.script_text is not null`.as("has_script_text"),
    ])
    .where("instruments.name", "=", instrument.toUpperCase())
    .where("runs.run_number", "=", run)
    .orderBy("jobs.version")
    .execute();
  const first = rows[0];
  if (!first) return null;
  return {
    instrument: first.instrument,
    run_number: Number(first.run_number),
    experiment: first.experiment,
    experiment_title: first.experiment_title,
    title: first.title,
    data_file: first.data_file,
    versions: rows.map((r) => {
      const started = num(r.started_at);
      const finished = num(r.finished_at);
      return {
        job_id: r.job_id,
        version: Number(r.version),
        status: r.status,
        reason: r.reason,
        started_by: r.started_by,
        description: r.description,
        message: r.message,
        created_at: Number(r.created_at),
        dispatched_at: num(r.dispatched_at),
        started_at: started,
        finished_at: finished,
        retry_at: num(r.retry_at),
        duration_seconds: started !== null && finished !== null ? (finished - started) / 1000 : null,
        host: r.host,
        executor: r.executor,
        external_id: r.external_id,
        queue: r.queue,
        route: r.route,
        peak_memory_bytes: num(r.peak_memory_bytes),
        exit_code: num(r.exit_code),
        attempts: Number(r.attempts),
        output_dir: r.output_dir,
        output_files: parseList(r.output_files),
        log_file: r.log_file,
        err_file: r.err_file,
        script_path: r.script_path,
        script_hash: r.script_hash,
        has_script_text: Boolean(Number(r.has_script_text)),
        interpreter: r.interpreter,
        variables: parseJson(r.variables),
      };
    }),
  };
}

/** The exact script text one version ran (null: not recorded). */
export async function scriptTextOf(database: SqlDatabase, jobId: string): Promise<string | null> {
  const row = await database.db
    .selectFrom("jobs")
    .select("script_text")
    .where("job_id", "=", jobId)
    .executeTakeFirst();
  return row?.script_text ?? null;
}

/** The status, log files and output of one job now (the live log stream re-reads them). */
export async function jobProgress(database: SqlDatabase, jobId: string) {
  return database.db
    .selectFrom("jobs")
    .select(["status", "log_file", "err_file"])
    .where("job_id", "=", jobId)
    .executeTakeFirst();
}

function parseList(text: string): string[] {
  const value = parseJson(text);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** The address of a run: `/runs/<INST>/<RUN>`. */
export const RunParams = z.object({
  instrument: z.string().regex(/^[A-Za-z0-9_]+$/, "an instrument name is letters, digits and _"),
  run: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

/** `?version=N`: a version number (absent: the latest). */
export const VersionNumber = z.coerce.number().int().nonnegative().max(1_000_000);

export const runPath = (instrument: string, run: number) => `/runs/${instrument}/${run}`;

/** What a run route found: the run, readable by the viewer, or the answer already sent. */
export type Found = { run: RunRecord } | { reply: FastifyReply };

/**
 * Finds the run of a request's address and checks that the viewer may read it. An unknown run
 * is "not found" only to those who may read the instrument; anyone else is refused exactly as
 * for a run they may not read, so that the answer never tells whether a run exists.
 */
export async function findReadableRun(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  badRequest: (text: string) => Promise<FastifyReply> | FastifyReply,
): Promise<Found> {
  const params = RunParams.safeParse(request.params);
  if (!params.success)
    return { reply: await badRequest("This address does not name a run (/runs/<INSTRUMENT>/<RUN NUMBER>).") };
  const { instrument, run } = params.data;
  const record = await loadRun(ctx.database, instrument, run);
  const what = `run ${run} of ${instrument.toUpperCase()}`;
  if (!record) {
    if (!canReadInstrument(request.viewer, instrument))
      return { reply: await ctx.deny(request, reply, what) };
    return {
      reply: await ctx.notFound(
        request,
        reply,
        `${instrument.toUpperCase()} has no run ${run} recorded. Check the run number, or find the run in the runs list.`,
      ),
    };
  }
  if (!canReadRun(request.viewer, record)) return { reply: await ctx.deny(request, reply, what) };
  return { run: record };
}

/** The version `?version=N` names (the latest without one), or null when the run has no such version. */
export function selectVersion(run: RunRecord, version: number | undefined): VersionRow | null {
  if (version === undefined) return run.versions.at(-1) ?? null;
  return run.versions.find((v) => v.version === version) ?? null;
}
