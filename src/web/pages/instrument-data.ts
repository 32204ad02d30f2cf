import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { instrumentSettings } from "../../config/instrument-settings.ts";
import type { Config } from "../../config/load-config.ts";
import type { JobStatus } from "../../messages/job-status.ts";
import { reductionsWithRun } from "../../store/run-views.ts";
import type { SqlDatabase } from "../../store/state-database.ts";

/**
 * What the instrument pages read from the state database. Each query walks an index: the queue and
 * running lists the job status index (few rows), the per-instrument lists the runs' (instrument,
 * run number) index from the newest run down, so a million runs cost no more than a thousand.
 * `experiments` limits a query to those experiments' runs (an experimenter's view).
 */

/** A reduction version as the instrument pages list it. */
export interface VersionRow {
  run_number: number;
  experiment: string;
  title: string | null;
  version: number;
  status: JobStatus;
  message: string | null;
  host: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/** One instrument on the instruments list. */
export interface InstrumentSummary {
  name: string;
  facility: string;
  /** In the configuration (an instrument only in the database has old runs but no settings). */
  configured: boolean;
  paused: boolean;
  /** Its script file exists: new runs are reduced (unless paused). */
  hasScript: boolean;
  /** Runs recorded in the last 24 hours. */
  recentRuns: number;
  queued: number;
  running: number;
  lastRun: VersionRow | null;
}

export const DAY_MS = 86_400_000;
const ACTIVE: JobStatus[] = ["queued", "retrying", "running"];

/** Instruments of the configuration and of the database, sorted. */
export async function knownInstruments(config: Config, database: SqlDatabase): Promise<string[]> {
  const rows = await database.db.selectFrom("instruments").select("name").execute();
  return [...new Set([...Object.keys(config.instruments), ...rows.map((r) => r.name)])].sort();
}

/** Instruments with runs of these experiments (what an experimenter sees through their runs). */
export async function instrumentsOfExperiments(
  database: SqlDatabase,
  experiments: readonly string[],
): Promise<string[]> {
  if (experiments.length === 0) return [];
  const rows = await database.db
    .selectFrom("runs")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .innerJoin("experiments", "experiments.id", "runs.experiment_id")
    .select("instruments.name")
    .distinct()
    .where("experiments.reference", "in", [...experiments])
    .execute();
  return rows.map((r) => r.name).sort();
}

/** Which of these experiments have runs on the instrument. */
export async function experimentsOn(
  database: SqlDatabase,
  instrument: string,
  experiments: readonly string[],
): Promise<string[]> {
  if (experiments.length === 0) return [];
  const rows = await database.db
    .selectFrom("runs")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .innerJoin("experiments", "experiments.id", "runs.experiment_id")
    .select("experiments.reference")
    .distinct()
    .where("instruments.name", "=", instrument)
    .where("experiments.reference", "in", [...experiments])
    .execute();
  return rows.map((r) => r.reference).sort();
}

/** The instrument's database row (null: it never had a run and was never paused). */
export async function instrumentRow(database: SqlDatabase, name: string) {
  const row = await database.db
    .selectFrom("instruments")
    .select(["id", "facility", "paused"])
    .where("name", "=", name)
    .executeTakeFirst();
  return row ? { id: Number(row.id), facility: row.facility, paused: Number(row.paused) === 1 } : null;
}

/** Makes the instrument's row when it has none yet, so that an instrument can be paused before its first run. */
export async function ensureInstrumentRow(
  database: SqlDatabase,
  name: string,
  facility: string,
): Promise<void> {
  await database.db
    .insertInto("instruments")
    .values({ name, facility, created_at: Date.now() })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
}

const versionColumns = [
  "runs.run_number",
  "experiments.reference as experiment",
  "runs.title",
  "jobs.version",
  "jobs.status",
  "jobs.message",
  "jobs.host",
  "jobs.created_at",
  "jobs.started_at",
  "jobs.finished_at",
] as const;

function versionRow(r: {
  run_number: number;
  experiment: string;
  title: string | null;
  version: number | null;
  status: JobStatus;
  message: string | null;
  host: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}): VersionRow {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    run_number: Number(r.run_number),
    experiment: r.experiment,
    title: r.title,
    version: Number(r.version),
    status: r.status,
    message: r.message,
    host: r.host,
    created_at: Number(r.created_at),
    started_at: n(r.started_at),
    finished_at: n(r.finished_at),
  };
}

/** Versions waiting (queued, retrying) or running, oldest first. */
export async function activeVersions(
  database: SqlDatabase,
  instrument: string,
  experiments?: readonly string[],
): Promise<VersionRow[]> {
  if (experiments?.length === 0) return [];
  let q = reductionsWithRun(database)
    .select(versionColumns)
    .where("jobs.status", "in", ACTIVE)
    .where("instruments.name", "=", instrument);
  if (experiments) q = q.where("experiments.reference", "in", [...experiments]);
  const rows = await q.orderBy("jobs.id").limit(1000).execute();
  return rows.map(versionRow);
}

/** The latest failed versions (status `error`), newest first. */
export async function recentFailures(
  database: SqlDatabase,
  instrument: string,
  limit: number,
  experiments?: readonly string[],
): Promise<VersionRow[]> {
  if (experiments?.length === 0) return [];
  let q = reductionsWithRun(database)
    .select(versionColumns)
    .where("jobs.status", "=", "error")
    .where("instruments.name", "=", instrument);
  if (experiments) q = q.where("experiments.reference", "in", [...experiments]);
  const rows = await q.orderBy("jobs.id", "desc").limit(limit).execute();
  return rows.map(versionRow);
}

/** Run number and script run time of the latest completed versions (newest runs first). */
export async function recentDurations(
  database: SqlDatabase,
  instrumentId: number,
  limit: number,
): Promise<Array<{ run_number: number; seconds: number }>> {
  const rows = await database.db
    .selectFrom("runs")
    .innerJoin("jobs", "jobs.run_id", "runs.id")
    .select(["runs.run_number", "jobs.started_at", "jobs.finished_at"])
    .where("runs.instrument_id", "=", instrumentId)
    .where("jobs.status", "=", "completed")
    .where("jobs.started_at", "is not", null)
    .where("jobs.finished_at", "is not", null)
    .orderBy("runs.run_number", "desc")
    .orderBy("jobs.version", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    run_number: Number(r.run_number),
    seconds: (Number(r.finished_at) - Number(r.started_at)) / 1000,
  }));
}

/** The run with the highest number and its latest version. */
export async function lastRun(
  database: SqlDatabase,
  instrumentId: number,
  experiments?: readonly string[],
): Promise<VersionRow | null> {
  if (experiments?.length === 0) return null;
  let q = database.db
    .selectFrom("runs")
    .innerJoin("experiments", "experiments.id", "runs.experiment_id")
    .select(["runs.id", "runs.run_number", "experiments.reference as experiment", "runs.title"])
    .where("runs.instrument_id", "=", instrumentId);
  if (experiments) q = q.where("experiments.reference", "in", [...experiments]);
  const run = await q.orderBy("runs.run_number", "desc").limit(1).executeTakeFirst();
  if (!run) return null;
  const job = await database.db
    .selectFrom("jobs")
    .select(["version", "status", "message", "host", "created_at", "started_at", "finished_at"])
    .where("run_id", "=", run.id)
    .where("kind", "=", "reduction")
    .orderBy("version", "desc")
    .limit(1)
    .executeTakeFirst();
  if (!job) return null;
  return versionRow({ ...run, ...job });
}

/** How many runs were recorded since `since` (epoch ms). */
export async function runsSince(
  database: SqlDatabase,
  instrumentId: number,
  since: number,
  experiments?: readonly string[],
): Promise<number> {
  if (experiments?.length === 0) return 0;
  let q = database.db
    .selectFrom("runs")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("runs.instrument_id", "=", instrumentId)
    .where("runs.created_at", ">=", since);
  if (experiments)
    q = q.where("runs.experiment_id", "in", (eb) =>
      eb
        .selectFrom("experiments")
        .select("id")
        .where("reference", "in", [...experiments]),
    );
  const row = await q.executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The instruments list's line of one instrument. */
export async function instrumentSummary(
  config: Config,
  database: SqlDatabase,
  name: string,
  experiments?: readonly string[],
  now = Date.now(),
): Promise<InstrumentSummary> {
  const settings = instrumentSettings(config, name);
  const row = await instrumentRow(database, name);
  const active = row ? await activeVersions(database, name, experiments) : [];
  return {
    name,
    facility: settings?.facility ?? row?.facility ?? config.facility,
    configured: settings !== null,
    paused: row?.paused ?? false,
    hasScript: settings ? existsSync(resolve(settings.scriptDir, settings.scriptFile)) : false,
    recentRuns: row ? await runsSince(database, row.id, now - DAY_MS, experiments) : 0,
    queued: active.filter((v) => v.status !== "running").length,
    running: active.filter((v) => v.status === "running").length,
    lastRun: row ? await lastRun(database, row.id, experiments) : null,
  };
}
