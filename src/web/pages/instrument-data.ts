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

/** How many of an instrument's newest runs the failure list and the run-time chart look at. */
export const RECENT_RUNS = 2000;

/** The instrument's newest runs (by run number), as a table to join: a bounded walk of the runs' index. */
function newestRuns(database: SqlDatabase, instrumentId: number) {
  return database.db
    .selectFrom("runs")
    .select(["runs.id", "runs.run_number", "runs.experiment_id", "runs.title"])
    .where("runs.instrument_id", "=", instrumentId)
    .orderBy("runs.run_number", "desc")
    .limit(RECENT_RUNS)
    .as("recent");
}

/**
 * The failed versions (status `error`) among the instrument's newest {@link RECENT_RUNS} runs,
 * newest run first. Bounded by the runs walked, not by how many failures the database holds
 * (the admin page lists every failed job).
 */
export async function recentFailures(
  database: SqlDatabase,
  instrumentId: number,
  limit: number,
  experiments?: readonly string[],
): Promise<VersionRow[]> {
  if (experiments?.length === 0) return [];
  let q = database.db
    .selectFrom(newestRuns(database, instrumentId))
    .innerJoin("jobs", "jobs.run_id", "recent.id")
    .innerJoin("experiments", "experiments.id", "recent.experiment_id")
    .select([
      "recent.run_number",
      "experiments.reference as experiment",
      "recent.title",
      "jobs.version",
      "jobs.status",
      "jobs.message",
      "jobs.host",
      "jobs.created_at",
      "jobs.started_at",
      "jobs.finished_at",
    ])
    .where("jobs.status", "=", "error");
  if (experiments) q = q.where("experiments.reference", "in", [...experiments]);
  const rows = await q
    .orderBy("recent.run_number", "desc")
    .orderBy("jobs.version", "desc")
    .limit(limit)
    .execute();
  return rows.map(versionRow);
}

/** Run number and script run time of the completed versions among the newest runs (newest first). */
export async function recentDurations(
  database: SqlDatabase,
  instrumentId: number,
  limit: number,
): Promise<Array<{ run_number: number; seconds: number }>> {
  const rows = await database.db
    .selectFrom(newestRuns(database, instrumentId))
    .innerJoin("jobs", "jobs.run_id", "recent.id")
    .select(["recent.run_number", "jobs.started_at", "jobs.finished_at"])
    .where("jobs.status", "=", "completed")
    .where("jobs.started_at", "is not", null)
    .where("jobs.finished_at", "is not", null)
    .orderBy("recent.run_number", "desc")
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

/**
 * The id of the first run recorded at or after `since` (null: none). Run ids grow with the time
 * runs are recorded, so a binary search over ids finds it in a few primary-key lookups, where a
 * filter on `created_at` (not indexed) would read every run.
 */
async function firstRunIdSince(database: SqlDatabase, since: number): Promise<number | null> {
  // Two queries: SQLite answers a lone min() or max() from the index, but not both at once.
  const first = await database.db
    .selectFrom("runs")
    .select((eb) => eb.fn.min("id").as("id"))
    .executeTakeFirst();
  const last = await database.db
    .selectFrom("runs")
    .select((eb) => eb.fn.max("id").as("id"))
    .executeTakeFirst();
  if (first?.id === null || first?.id === undefined || last?.id === null || last?.id === undefined)
    return null;
  const bounds = { lo: first.id, hi: last.id };
  // The smallest x such that the first run with an id ≥ x is recent (or there is none).
  let lo = Number(bounds.lo);
  let hi = Number(bounds.hi) + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const probe = await database.db
      .selectFrom("runs")
      .select(["id", "created_at"])
      .where("id", ">=", mid)
      .orderBy("id")
      .limit(1)
      .executeTakeFirst();
    if (!probe || Number(probe.created_at) >= since) hi = mid;
    else lo = Number(probe.id) + 1;
  }
  return lo > Number(bounds.hi) ? null : lo;
}

/** How many of the instrument's runs have an id from `firstId` on (see {@link firstRunIdSince}). */
async function runsFrom(
  database: SqlDatabase,
  instrumentId: number,
  firstId: number | null,
  experiments?: readonly string[],
): Promise<number> {
  if (firstId === null || experiments?.length === 0) return 0;
  let q = database.db
    .selectFrom("runs")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("runs.id", ">=", firstId)
    .where("runs.instrument_id", "=", instrumentId);
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

/** Waiting (queued, retrying) and running versions by instrument name (optionally of some experiments only). */
async function activeCounts(
  database: SqlDatabase,
  instruments: readonly string[],
  experiments?: readonly string[],
): Promise<Map<string, { queued: number; running: number }>> {
  const out = new Map<string, { queued: number; running: number }>();
  if (instruments.length === 0 || experiments?.length === 0) return out;
  let q = reductionsWithRun(database)
    .select(["instruments.name", "jobs.status", (eb) => eb.fn.countAll<number>().as("n")])
    .where("jobs.status", "in", ACTIVE)
    .where("instruments.name", "in", [...instruments]);
  if (experiments) q = q.where("experiments.reference", "in", [...experiments]);
  for (const r of await q.groupBy(["instruments.name", "jobs.status"]).execute()) {
    const counts = out.get(r.name) ?? { queued: 0, running: 0 };
    if (r.status === "running") counts.running += Number(r.n);
    else counts.queued += Number(r.n);
    out.set(r.name, counts);
  }
  return out;
}

/** Runs with an id from `firstId` on (see {@link firstRunIdSince}) by instrument id: today's rows only are read. */
async function runsFromByInstrument(
  database: SqlDatabase,
  firstId: number | null,
): Promise<Map<number, number>> {
  if (firstId === null) return new Map();
  const rows = await database.db
    .selectFrom("runs")
    .select(["instrument_id", (eb) => eb.fn.countAll<number>().as("n")])
    .where("id", ">=", firstId)
    .groupBy("instrument_id")
    .execute();
  return new Map(rows.map((r) => [Number(r.instrument_id), Number(r.n)]));
}

/**
 * The instruments list's lines. `scoped` gives, for an instrument the viewer sees only through
 * their experiments, those experiments: its counts cover their runs only.
 */
export async function instrumentSummaries(
  config: Config,
  database: SqlDatabase,
  names: readonly string[],
  scoped: ReadonlyMap<string, readonly string[]>,
  now = Date.now(),
): Promise<InstrumentSummary[]> {
  const firstRecentId = await firstRunIdSince(database, now - DAY_MS);
  const full = names.filter((n) => !scoped.has(n));
  const [recent, active] = await Promise.all([
    runsFromByInstrument(database, firstRecentId),
    activeCounts(database, full),
  ]);
  const out: InstrumentSummary[] = [];
  for (const name of names) {
    const experiments = scoped.get(name);
    const settings = instrumentSettings(config, name);
    const row = await instrumentRow(database, name);
    const counts = experiments
      ? (await activeCounts(database, [name], experiments)).get(name)
      : active.get(name);
    const recentRuns = !row
      ? 0
      : experiments
        ? await runsFrom(database, row.id, firstRecentId, experiments)
        : (recent.get(row.id) ?? 0);
    out.push({
      name,
      facility: settings?.facility ?? row?.facility ?? config.facility,
      configured: settings !== null,
      paused: row?.paused ?? false,
      hasScript: settings ? existsSync(resolve(settings.scriptDir, settings.scriptFile)) : false,
      recentRuns,
      queued: counts?.queued ?? 0,
      running: counts?.running ?? 0,
      lastRun: row ? await lastRun(database, row.id, experiments) : null,
    });
  }
  return out;
}
