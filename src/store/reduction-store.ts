import type { Updateable } from "kysely";
import type { ReductionRow } from "./run-store.ts";
import type { ReductionStatus, ReductionsTable } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/** Finds the reduction a worker report is about: by job id, else the newest unfinished one of the run. */
export async function findReductionForReport(
  database: SqlDatabase,
  report: { job_id?: string | undefined; instrument: string; run_number: number },
): Promise<ReductionRow | null> {
  const { db } = database;
  if (report.job_id) {
    return (
      (await db
        .selectFrom("reductions")
        .selectAll()
        .where("job_id", "=", report.job_id)
        .executeTakeFirst()) ?? null
    );
  }
  const row = await db
    .selectFrom("reductions")
    .innerJoin("runs", "runs.id", "reductions.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .selectAll("reductions")
    .where("instruments.name", "=", report.instrument.toUpperCase())
    .where("runs.run_number", "=", report.run_number)
    .orderBy("reductions.version", "desc")
    .executeTakeFirst();
  return row ?? null;
}

export interface ReportEvent {
  messageId: string;
  destination: string;
  body: string;
}

/**
 * Appends a worker report to the run's events and, when `next` is given, moves the reduction to
 * that status with the given fields — in one transaction, and only if the status is still the one
 * the caller saw (so concurrent reports cannot undo each other). Returns false for a redelivered
 * report (already recorded).
 */
export async function applyReport(
  database: SqlDatabase,
  reduction: ReductionRow,
  event: ReportEvent,
  next: { status: ReductionStatus; fields: Updateable<ReductionsTable> } | null,
  now = Date.now(),
): Promise<boolean> {
  return database.transaction(async (trx) => {
    const seen = await trx
      .selectFrom("run_events")
      .select("id")
      .where("message_id", "=", event.messageId)
      .executeTakeFirst();
    if (seen) return false;
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
    if (next) {
      await trx
        .updateTable("reductions")
        .set({ ...next.fields, status: next.status, updated_at: now })
        .where("id", "=", reduction.id)
        .where("status", "=", reduction.status)
        .execute();
    }
    return true;
  });
}

/** Records that the job message of a reduction was sent, and the message itself as a run event. */
export async function markDispatched(
  database: SqlDatabase,
  reduction: ReductionRow,
  event: ReportEvent,
  now = Date.now(),
) {
  await database.transaction(async (trx) => {
    await trx.updateTable("reductions").set({ dispatched_at: now }).where("id", "=", reduction.id).execute();
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

/** The fields of the job message for a reduction (SNS fields first, ours after). */
export async function jobMessageFor(database: SqlDatabase, reductionId: number) {
  const row = await database.db
    .selectFrom("reductions")
    .innerJoin("runs", "runs.id", "reductions.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .innerJoin("experiments", "experiments.id", "runs.experiment_id")
    .select([
      "instruments.facility",
      "instruments.name as instrument",
      "experiments.reference as ipts",
      "runs.run_number",
      "runs.data_file",
      "reductions.job_id",
      "reductions.version as run_version",
      "reductions.output_dir",
    ])
    .where("reductions.id", "=", reductionId)
    .executeTakeFirstOrThrow();
  return {
    facility: row.facility,
    instrument: row.instrument,
    ipts: row.ipts,
    run_number: Number(row.run_number),
    data_file: row.data_file,
    job_id: row.job_id,
    run_version: Number(row.run_version),
    ...(row.output_dir ? { output_dir: row.output_dir } : {}),
  };
}
