import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { asReduction, type ReductionRow } from "./job-store.ts";
import { noteReductionJob } from "./run-index.ts";
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
  /**
   * Recognises the same content announced again (path, size, mtime); null: always a new version.
   * A notice is a duplicate only when the content *and* the identity (instrument, experiment,
   * run) match a recorded reduction; the same content under another identity is a conflict.
   */
  dedupeKey: string | null;
  /**
   * Decides a conflict: the dedupe key was recorded, but only under other identities (given).
   * `record` creates this notice's own run and version anyway; `refuse` creates nothing.
   * Default `record`.
   */
  onConflict?: (recorded: RunIdentity[]) => "record" | "refuse";
  reason: string;
  startedBy: string | null;
  /** The version's output folder; null for a run that is never reduced (skipped). */
  outputDir: (version: number) => string | null;
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

/** Who a run is: what a DATA_READY claims and what a recorded run is filed under. */
export interface RunIdentity {
  instrument: string;
  experiment: string;
  runNumber: number;
}

export type RecordResult =
  /**
   * A new reduction version was created. `conflicts` lists the other identities the same
   * content (dedupe key) was recorded under before, when there were any.
   */
  | { kind: "created"; reduction: ReductionRow; conflicts: RunIdentity[] }
  /** The same message (or the same content for the same run) was seen before: nothing new was created. */
  | { kind: "duplicate"; reduction: ReductionRow | null }
  /** The same content was recorded under other identities and `onConflict` refused: nothing was created. */
  | { kind: "conflict"; reduction: null; conflicts: RunIdentity[] };

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
    let conflicts: RunIdentity[] = [];
    if (ready.dedupeKey) {
      const recorded = await recordedUnderKey(trx, ready.dedupeKey);
      const same = recorded.find((r) => sameIdentity(r.identity, ready));
      if (same) return { kind: "duplicate", reduction: await reductionById(trx, same.reductionId) };
      conflicts = uniqueIdentities(recorded.map((r) => r.identity));
      if (conflicts.length > 0 && (ready.onConflict?.(conflicts) ?? "record") === "refuse")
        return { kind: "conflict", reduction: null, conflicts };
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
    await noteReductionJob(trx, reduction);
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
    return { kind: "created", reduction, conflicts };
  });
}

/** Every reduction created by a notice with this dedupe key, with the identity of its run. */
async function recordedUnderKey(
  db: Kysely<StateSchema>,
  dedupeKey: string,
): Promise<Array<{ reductionId: number; identity: RunIdentity }>> {
  const rows = await db
    .selectFrom("jobs")
    .innerJoin("runs", "runs.id", "jobs.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .innerJoin("experiments", "experiments.id", "runs.experiment_id")
    .select([
      "jobs.id as id",
      "instruments.name as instrument",
      "experiments.reference as experiment",
      "runs.run_number as run_number",
    ])
    .where("jobs.dedupe_key", "=", dedupeKey)
    .where("jobs.kind", "=", "reduction")
    .orderBy("jobs.id")
    .execute();
  return rows.map((r) => ({
    reductionId: r.id,
    identity: { instrument: r.instrument, experiment: r.experiment, runNumber: Number(r.run_number) },
  }));
}

function sameIdentity(a: RunIdentity, b: RunIdentity): boolean {
  return a.instrument === b.instrument && a.experiment === b.experiment && a.runNumber === b.runNumber;
}

function uniqueIdentities(identities: RunIdentity[]): RunIdentity[] {
  return identities.filter((id, i) => identities.findIndex((other) => sameIdentity(id, other)) === i);
}

async function reductionById(db: Kysely<StateSchema>, id: number | null): Promise<ReductionRow | null> {
  if (id === null) return null;
  const row = await db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? asReduction(row) : null;
}

// One statement each: the no-op update makes RETURNING give the row whether it was new or not.
/** The instrument's row (made when it has none yet): its id and whether it is paused. */
export async function findOrCreateInstrument(
  db: Kysely<StateSchema>,
  name: string,
  facility: string,
  now: number,
) {
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
