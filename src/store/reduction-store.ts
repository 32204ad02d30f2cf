import type { Updateable } from "kysely";
import { jobMessage } from "../coordinator/job-message.ts";
import type { ReductionRow } from "./run-store.ts";
import { reductionsWithRun } from "./run-views.ts";
import type { ReductionStatus, ReductionsTable } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/** A reduction with the run it belongs to, as recorded (not as a message claims). */
export type ReductionOfRun = ReductionRow & { instrument: string; run_number: number };

/** Finds the reduction a worker report is about: by job id, else the newest unfinished one of the run. */
export async function findReductionForReport(
  database: SqlDatabase,
  report: { job_id?: string | undefined; instrument: string; run_number: number },
): Promise<ReductionOfRun | null> {
  let query = database.db
    .selectFrom("reductions")
    .innerJoin("runs", "runs.id", "reductions.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .selectAll("reductions")
    .select(["instruments.name as instrument", "runs.run_number as run_number"]);
  if (report.job_id) query = query.where("reductions.job_id", "=", report.job_id);
  else {
    query = query
      .where("instruments.name", "=", report.instrument.toUpperCase())
      .where("runs.run_number", "=", report.run_number)
      .orderBy("reductions.version", "desc");
  }
  const row = await query.executeTakeFirst();
  return row ? { ...row, run_number: Number(row.run_number) } : null;
}

export interface ReportEvent {
  messageId: string;
  destination: string;
  body: string;
}

/** The status a report moves a reduction to, decided from the reduction as it is now. */
export type ReportDecision = (
  current: ReductionRow,
) => { status: ReductionStatus; fields: Updateable<ReductionsTable> } | null;

/**
 * Appends a worker report to the run's events and applies `decide` to the reduction as it is
 * inside the transaction (locked), so that reports handled at the same time on different queues
 * (STARTED and COMPLETE) cannot undo or lose each other. Returns null for a redelivered report
 * (already recorded), else the decision taken (null: recorded but no change) and the
 * `updated_at` written: `now`, or the reduction's own if later (a report that waited for the
 * lock took its clock before the one it waited for), so that it never goes back.
 */
export async function applyReport(
  database: SqlDatabase,
  reductionId: number,
  event: ReportEvent,
  decide: ReportDecision,
  now = Date.now(),
): Promise<{ next: ReturnType<ReportDecision>; current: ReductionRow; updatedAt: number } | null> {
  return database.transaction(async (trx) => {
    const seen = await trx
      .selectFrom("run_events")
      .select("id")
      .where("message_id", "=", event.messageId)
      .executeTakeFirst();
    if (seen) return null;
    let query = trx.selectFrom("reductions").selectAll().where("id", "=", reductionId);
    if (database.dialect === "postgres") query = query.forUpdate();
    const current = await query.executeTakeFirstOrThrow();
    await trx
      .insertInto("run_events")
      .values({
        run_id: current.run_id,
        reduction_id: current.id,
        destination: event.destination,
        message_id: event.messageId,
        body: event.body,
        created_at: now,
      })
      .execute();
    const next = decide(current);
    const updatedAt = Math.max(now, Number(current.updated_at));
    if (next) {
      await trx
        .updateTable("reductions")
        .set({ ...next.fields, status: next.status, updated_at: updatedAt })
        .where("id", "=", current.id)
        .execute();
    }
    return { next, current, updatedAt };
  });
}

/** Records that the job message of a reduction was sent, and the message itself as a run event. */
export async function markDispatched(
  database: SqlDatabase,
  reduction: ReductionRow,
  event: ReportEvent,
  route: { queue: string; rule: string | null },
  now = Date.now(),
) {
  await database.transaction(async (trx) => {
    await trx
      .updateTable("reductions")
      .set({ dispatched_at: now, queue: route.queue, route: route.rule })
      .where("id", "=", reduction.id)
      .execute();
    await trx
      .insertInto("run_events")
      .values({
        run_id: reduction.run_id,
        reduction_id: reduction.id,
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
  return database.db
    .selectFrom("reductions")
    .selectAll()
    .where("status", "=", "queued")
    .where("dispatched_at", "is", null)
    .orderBy("id")
    .execute();
}

/** Reduction rows with the facts of their run that job messages and re-runs need. */
function reductionsWithRunFacts(database: SqlDatabase) {
  return reductionsWithRun(database)
    .selectAll("reductions")
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

/** The job message of a reduction and the run facts routing looks at, built from the database. */
export async function jobMessageFor(database: SqlDatabase, reductionId: number) {
  const row = await reductionsWithRunFacts(database)
    .where("reductions.id", "=", reductionId)
    .executeTakeFirstOrThrow();
  return {
    job: jobMessage({ ...row, run_number: Number(row.run_number) }, row),
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

/** A run with the facts a re-run needs, and its latest reduction version. */
export async function runForRerun(database: SqlDatabase, instrument: string, runNumber: number) {
  const row = await reductionsWithRunFacts(database)
    .where("instruments.name", "=", instrument.toUpperCase())
    .where("runs.run_number", "=", runNumber)
    .orderBy("reductions.version", "desc")
    .executeTakeFirst();
  return row ? { ...row, run_number: Number(row.run_number) } : null;
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
): Promise<{ reduction: ReductionRow | null; previous?: ReductionStatus; reason: string | null }> {
  return database.transaction(async (trx) => {
    const latest = await trx
      .selectFrom("reductions")
      .innerJoin("runs", "runs.id", "reductions.run_id")
      .innerJoin("instruments", "instruments.id", "runs.instrument_id")
      .selectAll("reductions")
      .where("instruments.name", "=", instrument.toUpperCase())
      .where("runs.run_number", "=", runNumber)
      .orderBy("reductions.version", "desc")
      .executeTakeFirst();
    if (!latest) return { reduction: null, reason: `no run ${runNumber} of ${instrument.toUpperCase()}` };
    if (!["queued", "retrying", "running"].includes(latest.status)) {
      return { reduction: null, reason: `version ${latest.version} is ${latest.status}: nothing to cancel` };
    }
    const now = Date.now();
    const message = `cancelled by ${by}`;
    await trx
      .updateTable("reductions")
      .set({ status: "cancelled", message, finished_at: now, updated_at: now })
      .where("id", "=", latest.id)
      .execute();
    await trx
      .insertInto("run_events")
      .values({
        run_id: latest.run_id,
        reduction_id: latest.id,
        destination: "cancel",
        message_id: null,
        body: JSON.stringify({ job_id: latest.job_id, cancelled_by: by }),
        created_at: now,
      })
      .execute();
    const cancelled = { ...latest, status: "cancelled" as const, message, finished_at: now, updated_at: now };
    return { reduction: cancelled, previous: latest.status, reason: null };
  });
}
