import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { asReduction, type ReductionRow } from "./job-store.ts";
import type { ReductionStatus, StateSchema } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

export type { ReductionRow } from "./job-store.ts";

/** A run that is ready for reduction, as the coordinator accepted it. */
export interface ReadyRun {
  facility: string;
  instrument: string;
  experiment: string;
  runNumber: number;
  dataFile: string;
  title: string | null;
  startTime: string | null;
  endTime: string | null;
  metadata: Record<string, unknown>;
  /** Transport message id of the DATA_READY (stable across redeliveries). */
  messageId: string;
  destination: string;
  body: string;
  dedupeKey: string | null;
  reason: string;
  startedBy: string | null;
  /** Derives the output folder of the new version. */
  outputDir: (version: number) => string;
  /** What the new version will run (script text, variables, interpreter): stored with it. */
  snapshot?: ReductionSnapshot;
  /** A status other than `queued` decided before creation (no script → disabled; bad reduce_vars → error). */
  initial?: { status: ReductionStatus; message: string };
  /** Why a person asked for it. */
  description?: string | null;
}

/** The reduction columns that record exactly what was (or will be) run. */
export interface ReductionSnapshot {
  script_path: string;
  script_text: string;
  script_hash: string;
  interpreter: string;
  convention: string;
  /** JSON of the variables, or null when the script has none. */
  variables: string | null;
  variable_set_id: number | null;
}

export type RecordResult =
  /** A new reduction version was created. */
  | { kind: "created"; reduction: ReductionRow }
  /** The same message (or the same file content) was seen before: nothing new was created. */
  | { kind: "duplicate"; reduction: ReductionRow | null };

/**
 * Records a DATA_READY in one transaction: instrument, experiment and run are found or created,
 * a new reduction version (0, or N+1 for a repeat) is created `queued` (`skipped` if the
 * instrument is paused), and the message is appended to the run's events. Idempotent.
 */
export async function recordReadyRun(
  database: SqlDatabase,
  ready: ReadyRun,
  now = Date.now(),
): Promise<RecordResult> {
  return database.transaction(async (trx) => {
    const seen = await trx
      .selectFrom("job_events")
      .select(["job_row_id"])
      .where("message_id", "=", ready.messageId)
      .executeTakeFirst();
    if (seen) return { kind: "duplicate", reduction: await reductionById(trx, seen.job_row_id) };
    if (ready.dedupeKey) {
      const same = await trx
        .selectFrom("jobs")
        .selectAll()
        .where("dedupe_key", "=", ready.dedupeKey)
        .executeTakeFirst();
      if (same) return { kind: "duplicate", reduction: asReduction(same) };
    }
    const instrument = await findOrCreateInstrument(trx, ready.instrument, ready.facility, now);
    const experimentId = await findOrCreateExperiment(trx, ready.experiment, now);
    const runId = await upsertRun(trx, instrument.id, experimentId, ready, now);
    const last = await trx
      .selectFrom("jobs")
      .select((eb) => eb.fn.max("version").as("v"))
      .where("run_id", "=", runId)
      .where("kind", "=", "reduction")
      .executeTakeFirst();
    const version = last?.v === null || last?.v === undefined ? 0 : Number(last.v) + 1;
    const status: ReductionStatus = instrument.paused ? "skipped" : (ready.initial?.status ?? "queued");
    const message = instrument.paused
      ? `instrument ${ready.instrument} is paused`
      : (ready.initial?.message ?? null);
    const reduction = await trx
      .insertInto("jobs")
      .values({
        kind: "reduction",
        run_id: runId,
        version,
        job_id: randomUUID(),
        status,
        reason: ready.reason,
        started_by: ready.startedBy,
        dedupe_key: ready.dedupeKey,
        message,
        description: ready.description ?? null,
        ...(ready.snapshot ?? {}),
        ...(status !== "queued" ? { finished_at: now } : {}),
        output_dir: ready.outputDir(version),
        output_files: "[]",
        attempts: 0,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
      .then(asReduction);
    await trx
      .insertInto("job_events")
      .values({
        run_id: runId,
        job_row_id: reduction.id,
        destination: ready.destination,
        message_id: ready.messageId,
        body: ready.body,
        created_at: now,
      })
      .execute();
    return { kind: "created", reduction };
  });
}

async function reductionById(db: Kysely<StateSchema>, id: number | null): Promise<ReductionRow | null> {
  if (id === null) return null;
  const row = await db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? asReduction(row) : null;
}

// One statement each: the no-op update makes RETURNING give the row whether it was new or not.
async function findOrCreateInstrument(db: Kysely<StateSchema>, name: string, facility: string, now: number) {
  const row = await db
    .insertInto("instruments")
    .values({ name, facility, created_at: now })
    .onConflict((oc) => oc.column("name").doUpdateSet((eb) => ({ name: eb.ref("excluded.name") })))
    .returning(["id", "paused"])
    .executeTakeFirstOrThrow();
  return { id: row.id, paused: Number(row.paused) === 1 };
}

async function findOrCreateExperiment(
  db: Kysely<StateSchema>,
  reference: string,
  now: number,
): Promise<number> {
  const row = await db
    .insertInto("experiments")
    .values({ reference, created_at: now })
    .onConflict((oc) =>
      oc.column("reference").doUpdateSet((eb) => ({ reference: eb.ref("excluded.reference") })),
    )
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

async function upsertRun(
  db: Kysely<StateSchema>,
  instrumentId: number,
  experimentId: number,
  ready: ReadyRun,
  now: number,
): Promise<number> {
  const values = {
    experiment_id: experimentId,
    data_file: ready.dataFile,
    title: ready.title,
    start_time: ready.startTime,
    end_time: ready.endTime,
    metadata: JSON.stringify(ready.metadata),
    updated_at: now,
  };
  const row = await db
    .insertInto("runs")
    .values({ ...values, instrument_id: instrumentId, run_number: ready.runNumber, created_at: now })
    .onConflict((oc) => oc.columns(["instrument_id", "run_number"]).doUpdateSet(values))
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}
