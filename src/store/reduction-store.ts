import type { Updateable } from "kysely";
import { RefusedError } from "../failures/refused-error.ts";
import { asReduction, type JobRow, type ReductionRow } from "./job-store.ts";
import { noteReductionJob } from "./run-index.ts";
import { reductionsWithRun } from "./run-views.ts";
import type { JobStatus, JobsTable } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/**
 * Finds the job a worker report is about: by job id (a job of any kind), else (an SNS report
 * without one) the latest reduction version of the run. (The coordinator passes a job id
 * straight to `applyReport`, which saves this look-up.)
 */
export async function findJobForReport(
  database: SqlDatabase,
  report: { job_id?: string | undefined; instrument: string; run_number: number },
): Promise<JobRow | null> {
  const { db } = database;
  if (report.job_id) {
    return (
      (await db.selectFrom("jobs").selectAll().where("job_id", "=", report.job_id).executeTakeFirst()) ?? null
    );
  }
  const row = await db
    .selectFrom("jobs")
    .innerJoin("runs", "runs.id", "jobs.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .selectAll("jobs")
    .where("instruments.name", "=", report.instrument.toUpperCase())
    .where("runs.run_number", "=", report.run_number)
    .where("jobs.kind", "=", "reduction")
    .orderBy("jobs.version", "desc")
    .executeTakeFirst();
  return row ?? null;
}

export interface ReportEvent {
  messageId: string;
  destination: string;
  body: string;
}

/** The status a report moves a job to, decided from the job as it is now. */
export type ReportDecision = (current: JobRow) => { status: JobStatus; fields: Updateable<JobsTable> } | null;

/** A report names a job (by its id in messages) that is not in the database. Bad input: a retry cannot help. */
export class UnknownJobError extends RefusedError {
  override readonly name = "UnknownJobError";
  constructor(readonly jobId: string) {
    super(`no job ${jobId} is known`);
  }
}

/**
 * Appends a worker report to the job's events (and so its run's) and applies `decide` to the job
 * as it is inside the transaction (locked), so that reports handled at the same time on different
 * queues (STARTED and COMPLETE) cannot undo or lose each other. Works for a job of any kind,
 * found by row id or by its id in messages (UnknownJobError if there is none).
 * Returns null for a redelivered report (already recorded), else the decision taken (null:
 * recorded but no change).
 *
 * The job is read only inside the transaction, and the event's unique message id is the dedupe
 * (the insert does nothing for a message already recorded): three statements per report.
 * The `updated_at` written is `now`, or the job's own if later (a report that waited for the lock
 * took its clock before the one it waited for), so that it never goes back (the change feed's
 * position).
 */
export async function applyReport(
  database: SqlDatabase,
  job: number | { jobId: string },
  event: ReportEvent,
  decide: ReportDecision,
  now = Date.now(),
): Promise<{
  next: ReturnType<ReportDecision>;
  current: JobRow;
  run: RecordedRun | null;
  updatedAt: number;
} | null> {
  return database.transaction(async (trx) => {
    let query = trx
      .selectFrom("jobs")
      .leftJoin("runs", "runs.id", "jobs.run_id")
      .leftJoin("instruments", "instruments.id", "runs.instrument_id")
      .selectAll("jobs")
      .select(["instruments.name as run_instrument", "runs.run_number as run_number"]);
    query =
      typeof job === "number" ? query.where("jobs.id", "=", job) : query.where("jobs.job_id", "=", job.jobId);
    if (database.dialect === "postgres") query = query.forUpdate("jobs");
    const row = await query.executeTakeFirst();
    if (!row) throw new UnknownJobError(typeof job === "number" ? `#${job}` : job.jobId);
    const { run_instrument, run_number, ...current } = row;
    const run =
      run_instrument === null || run_number === null
        ? null
        : { instrument: run_instrument, run_number: Number(run_number) };
    const recorded = await trx
      .insertInto("job_events")
      .values({
        run_id: current.run_id,
        job_row_id: current.id,
        destination: event.destination,
        message_id: event.messageId,
        body: event.body,
        created_at: now,
      })
      .onConflict((oc) => oc.column("message_id").doNothing())
      .returning("id")
      .executeTakeFirst();
    if (!recorded) return null;
    const next = decide(current);
    const updatedAt = Math.max(now, Number(current.updated_at));
    if (next) {
      await trx
        .updateTable("jobs")
        .set({ ...next.fields, status: next.status, updated_at: updatedAt })
        .where("id", "=", current.id)
        .execute();
      await noteReductionJob(trx, { ...current, status: next.status });
    }
    return { next, current, run, updatedAt };
  });
}

/** The run a reduction belongs to, as recorded (not as a report claims). */
export interface RecordedRun {
  instrument: string;
  run_number: number;
}

/** Records that the message of a job was sent, and the message itself as an event of the job (and its run). */
export async function markDispatched(
  database: SqlDatabase,
  reduction: JobRow,
  event: ReportEvent,
  route: { queue: string; rule: string | null },
  now = Date.now(),
) {
  await database.transaction(async (trx) => {
    await trx
      .updateTable("jobs")
      .set({ dispatched_at: now, queue: route.queue, route: route.rule })
      .where("id", "=", reduction.id)
      .execute();
    await trx
      .insertInto("job_events")
      .values({
        run_id: reduction.run_id,
        job_row_id: reduction.id,
        destination: event.destination,
        message_id: event.messageId,
        body: event.body,
        created_at: now,
      })
      .execute();
  });
}

/** Queued reductions whose job message was never sent (the coordinator stopped in between). */
export async function undispatchedReductions(database: SqlDatabase): Promise<ReductionRow[]> {
  const rows = await database.db
    .selectFrom("jobs")
    .selectAll()
    .where("status", "=", "queued")
    .where("dispatched_at", "is", null)
    .where("kind", "=", "reduction")
    .orderBy("id")
    .execute();
  return rows.map(asReduction);
}

/** Reduction rows with the facts of their run that job messages and re-runs need. */
function reductionsWithRunFacts(database: SqlDatabase) {
  return reductionsWithRun(database)
    .selectAll("jobs")
    .select([
      "instruments.facility",
      "instruments.name as instrument",
      "experiments.reference as ipts",
      "runs.run_number",
      "runs.data_file",
      "runs.title",
      "runs.metadata as run_metadata",
    ]);
}

/**
 * A reduction with the facts of its run that its job message and routing need (the coordinator
 * builds the message: the store gives facts, not messages).
 */
export async function reductionWithRunFacts(database: SqlDatabase, reductionId: number) {
  const row = await reductionsWithRunFacts(database)
    .where("jobs.id", "=", reductionId)
    .executeTakeFirstOrThrow();
  return {
    run: { ...row, run_number: Number(row.run_number) },
    reduction: asReduction(row),
    title: row.title,
    metadata: parseMetadata(row.run_metadata),
  };
}

function parseMetadata(text: string | null): Record<string, unknown> {
  try {
    const value = text ? (JSON.parse(text) as unknown) : null;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A run with the facts a re-run needs, and its latest reduction version (or the one asked for). */
export async function runForRerun(
  database: SqlDatabase,
  instrument: string,
  runNumber: number,
  version?: number,
) {
  let q = reductionsWithRunFacts(database)
    .where("instruments.name", "=", instrument.toUpperCase())
    .where("runs.run_number", "=", runNumber);
  if (version !== undefined) q = q.where("jobs.version", "=", version);
  const row = await q.orderBy("jobs.version", "desc").executeTakeFirst();
  return row ? { ...row, ...asReduction(row), run_number: Number(row.run_number) } : null;
}

/** Pauses or resumes an instrument: while paused, new runs are recorded as `skipped`. False if unknown. */
export async function setPaused(
  database: SqlDatabase,
  instrument: string,
  paused: boolean,
): Promise<boolean> {
  const result = await database.db
    .updateTable("instruments")
    .set({ paused: paused ? 1 : 0 })
    .where("name", "=", instrument.toUpperCase())
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Cancels the latest version of a run if it is still queued, retrying or running; records who
 * did it as a run event. Returns the cancelled reduction, or null with the reason.
 */
export async function cancelLatest(
  database: SqlDatabase,
  instrument: string,
  runNumber: number,
  by: string,
): Promise<{ reduction: ReductionRow | null; previous?: JobStatus; reason: string | null }> {
  return database.transaction(async (trx) => {
    const latest = await trx
      .selectFrom("jobs")
      .innerJoin("runs", "runs.id", "jobs.run_id")
      .innerJoin("instruments", "instruments.id", "runs.instrument_id")
      .selectAll("jobs")
      .where("instruments.name", "=", instrument.toUpperCase())
      .where("runs.run_number", "=", runNumber)
      .where("jobs.kind", "=", "reduction")
      .orderBy("jobs.version", "desc")
      .executeTakeFirst();
    if (!latest) return { reduction: null, reason: `no run ${runNumber} of ${instrument.toUpperCase()}` };
    if (!["queued", "retrying", "running"].includes(latest.status)) {
      return { reduction: null, reason: `version ${latest.version} is ${latest.status}: nothing to cancel` };
    }
    const now = Date.now();
    const message = `cancelled by ${by}`;
    await trx
      .updateTable("jobs")
      .set({ status: "cancelled", message, finished_at: now, updated_at: now })
      .where("id", "=", latest.id)
      .execute();
    await noteReductionJob(trx, { ...latest, status: "cancelled" });
    await trx
      .insertInto("job_events")
      .values({
        run_id: latest.run_id,
        job_row_id: latest.id,
        destination: "cancel",
        message_id: null,
        body: JSON.stringify({ job_id: latest.job_id, cancelled_by: by }),
        created_at: now,
      })
      .execute();
    const cancelled = {
      ...asReduction(latest),
      status: "cancelled" as const,
      message,
      finished_at: now,
      updated_at: now,
    };
    return { reduction: cancelled, previous: latest.status, reason: null };
  });
}
