import type { SqlDatabase } from "../../store/state-database.ts";
import { type Figure, reviveFigure } from "../views/figure.ts";

/**
 * The `plots` table: plots published for a run (by upload or from a script's plot file). Rows are
 * never changed; a newer plot of the same name is shown instead of an older one, which stays
 * (per version) with its data.
 */

/** A plot's record without its figure (lists). */
export interface PlotRecord {
  id: number;
  instrument: string;
  run: number;
  name: string;
  version: number | null;
  /** `plotly-json`, `plotly-div`, `series` (uploads) or `plot-file` (a script's `*.plot.json`). */
  source: string;
  /** Who published it: the user or token name; for a plot file, the file's name. */
  uploaded_by: string | null;
  created_at: number;
}

export interface NewPlot {
  instrument: string;
  run: number;
  version: number | null;
  name: string;
  figure: Figure;
  source: string;
  uploadedBy: string | null;
  createdAt?: number;
}

export async function insertPlot(database: SqlDatabase, plot: NewPlot): Promise<number> {
  const row = await database.db
    .insertInto("plots")
    .values({
      instrument: plot.instrument.toUpperCase(),
      run_number: plot.run,
      version: plot.version,
      name: plot.name,
      figure: JSON.stringify(plot.figure),
      source: plot.source,
      uploaded_by: plot.uploadedBy,
      created_at: plot.createdAt ?? Date.now(),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

const RECORD_COLUMNS = [
  "id",
  "instrument",
  "run_number",
  "name",
  "version",
  "source",
  "uploaded_by",
  "created_at",
] as const;

function toRecord(r: {
  id: number;
  instrument: string;
  run_number: number;
  name: string;
  version: number | null;
  source: string;
  uploaded_by: string | null;
  created_at: number;
}): PlotRecord {
  return {
    id: Number(r.id),
    instrument: r.instrument,
    run: Number(r.run_number),
    name: r.name,
    version: r.version === null ? null : Number(r.version),
    source: r.source,
    uploaded_by: r.uploaded_by,
    created_at: Number(r.created_at),
  };
}

/** A run's plots, newest first (at most `limit`). */
export async function listPlots(
  database: SqlDatabase,
  instrument: string,
  run: number,
  limit = 200,
): Promise<PlotRecord[]> {
  const rows = await database.db
    .selectFrom("plots")
    .select(RECORD_COLUMNS)
    .where("instrument", "=", instrument.toUpperCase())
    .where("run_number", "=", run)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map(toRecord);
}

/** One plot of a run (without its figure), or null. */
export async function findPlot(
  database: SqlDatabase,
  instrument: string,
  run: number,
  id: number,
): Promise<PlotRecord | null> {
  const row = await database.db
    .selectFrom("plots")
    .select(RECORD_COLUMNS)
    .where("id", "=", id)
    .where("instrument", "=", instrument.toUpperCase())
    .where("run_number", "=", run)
    .executeTakeFirst();
  return row ? toRecord(row) : null;
}

/** One plot of a run with its whole figure (every point), or null. */
export async function plotWithFigure(
  database: SqlDatabase,
  instrument: string,
  run: number,
  id: number,
): Promise<(PlotRecord & { figure: Figure }) | null> {
  const row = await database.db
    .selectFrom("plots")
    .select([...RECORD_COLUMNS, "figure"])
    .where("id", "=", id)
    .where("instrument", "=", instrument.toUpperCase())
    .where("run_number", "=", run)
    .executeTakeFirst();
  if (!row) return null;
  return { ...toRecord(row), figure: reviveFigure(JSON.parse(row.figure) as Figure) };
}

/** The figures of some plots (by id), as stored. */
export async function figuresOf(database: SqlDatabase, ids: number[]): Promise<Map<number, Figure>> {
  if (ids.length === 0) return new Map();
  const rows = await database.db
    .selectFrom("plots")
    .select(["id", "figure"])
    .where("id", "in", ids)
    .execute();
  return new Map(rows.map((r) => [Number(r.id), reviveFigure(JSON.parse(r.figure) as Figure)]));
}

/** What the plot routes need of a run: its experiment (for permissions) and latest version. */
export interface RunOfPlots {
  instrument: string;
  run: number;
  experiment: string;
  latestVersion: number | null;
}

export async function findRun(
  database: SqlDatabase,
  instrument: string,
  run: number,
): Promise<RunOfPlots | null> {
  const row = await database.db
    .selectFrom("runs")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .innerJoin("experiments", "experiments.id", "runs.experiment_id")
    .select((eb) => [
      "instruments.name as instrument",
      "experiments.reference as experiment",
      eb
        .selectFrom("jobs")
        .select((j) => j.fn.max("jobs.version").as("v"))
        .whereRef("jobs.run_id", "=", "runs.id")
        .where("jobs.kind", "=", "reduction")
        .as("latest"),
    ])
    .where("instruments.name", "=", instrument.toUpperCase())
    .where("runs.run_number", "=", run)
    .executeTakeFirst();
  if (!row) return null;
  return {
    instrument: row.instrument,
    run,
    experiment: row.experiment,
    latestVersion: row.latest === null || row.latest === undefined ? null : Number(row.latest),
  };
}

/** Whether the run has a reduction version `version`. */
export async function hasVersion(database: SqlDatabase, instrument: string, run: number, version: number) {
  const row = await database.db
    .selectFrom("jobs")
    .innerJoin("runs", "runs.id", "jobs.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .select("jobs.id")
    .where("instruments.name", "=", instrument.toUpperCase())
    .where("runs.run_number", "=", run)
    .where("jobs.kind", "=", "reduction")
    .where("jobs.version", "=", version)
    .executeTakeFirst();
  return row !== undefined;
}
