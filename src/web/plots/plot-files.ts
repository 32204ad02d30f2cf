import { readFile, realpath, stat } from "node:fs/promises";
import { basename, sep } from "node:path";
import type { Logger } from "../../logging/logger.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import { insideOutputRoot } from "../pages/run-files.ts";
import type { Figure } from "../views/figure.ts";
import { parsePlotText } from "./plot-input.ts";
import { insertPlot } from "./plot-store.ts";
import { PlotParseError } from "./plotly-div.ts";

/**
 * The plot-file convention: a reduction script that writes `<name>.plot.json` (our series or a
 * Plotly figure as JSON) into its output folder publishes a plot, with no token and no upload.
 * When a version of the run completes, its plot files (from the job's recorded outputs) are read
 * into `plots`: by the web process as soon as it hears of the completion, and again whenever the
 * run's plots are read, so files of versions that completed while no web process listened (or
 * before a restart) are read then. Each file is read once per version: the row it became
 * (`source` = `plot-file`, `uploaded_by` = the file's name, `created_at` = when the script wrote
 * it) says it was. A file that cannot be read becomes a row with no traces and a note saying why,
 * shown where the plot would be, so the script's author sees what to fix.
 */
export const PLOT_FILE_SUFFIX = ".plot.json";
export const PLOT_FILE_SOURCE = "plot-file";
/** A plot file larger than this is not read (the upload limit). */
const MAX_PLOT_FILE_BYTES = 16 * 1024 * 1024;
/** Plot files read per version at most. */
const MAX_PLOT_FILES = 20;
/**
 * A file changed this long after its version finished was rewritten by a later run (SNS output
 * folders are shared by an experiment's runs): it is not this version's plot.
 */
const REWRITTEN_AFTER_MS = 30_000;

interface FinishedVersion {
  version: number;
  output_dir: string | null;
  output_files: string;
  finished_at: number | null;
}

/** Runs being read now (one reading per run at a time in this process). */
const reading = new Map<string, Promise<number>>();

/**
 * Files that could not be opened (not there on this machine, not allowed), by version and path:
 * not tried again before this time, so a run page shown often does not retry (and log) each time.
 */
const failedUntil = new Map<string, number>();
const RETRY_AFTER_MS = 5 * 60_000;
const MAX_FAILURES_KEPT = 10_000;

/**
 * Reads the plot files of the run's completed versions that are not read yet. Returns how many
 * plots it stored. Problems opening a file (gone, not allowed) are logged and tried again after 5 minutes.
 */
export function ingestPlotFiles(
  database: SqlDatabase,
  outputRoot: string,
  instrument: string,
  run: number,
  log?: Logger,
): Promise<number> {
  const key = `${instrument.toUpperCase()}/${run}`;
  const running = reading.get(key);
  if (running) return running;
  const work = ingest(database, outputRoot, instrument.toUpperCase(), run, log).finally(() =>
    reading.delete(key),
  );
  reading.set(key, work);
  return work;
}

async function ingest(
  database: SqlDatabase,
  outputRoot: string,
  instrument: string,
  run: number,
  log?: Logger,
): Promise<number> {
  const versions: FinishedVersion[] = await database.db
    .selectFrom("jobs")
    .innerJoin("runs", "runs.id", "jobs.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .select(["jobs.version", "jobs.output_dir", "jobs.output_files", "jobs.finished_at"])
    .where("instruments.name", "=", instrument)
    .where("runs.run_number", "=", run)
    .where("jobs.kind", "=", "reduction")
    .where("jobs.status", "=", "completed")
    .where("jobs.output_files", "like", `%${PLOT_FILE_SUFFIX}%`)
    .execute()
    .then((rows) => rows.map((r) => ({ ...r, version: Number(r.version) })));
  if (versions.length === 0) return 0;
  const done = new Set(
    (
      await database.db
        .selectFrom("plots")
        .select(["version", "uploaded_by"])
        .where("instrument", "=", instrument)
        .where("run_number", "=", run)
        .where("source", "=", PLOT_FILE_SOURCE)
        .execute()
    ).map((r) => `${Number(r.version)}/${r.uploaded_by}`),
  );
  let stored = 0;
  for (const v of versions) {
    if (!v.output_dir) continue;
    const files = (JSON.parse(v.output_files) as string[])
      .filter((f) => f.endsWith(PLOT_FILE_SUFFIX) && !namesAnotherRun(basename(f), instrument, run))
      .slice(0, MAX_PLOT_FILES);
    for (const file of files) {
      if (done.has(`${v.version}/${basename(file)}`)) continue;
      const key = `${instrument}/${run}/${v.version}/${file}`;
      if ((failedUntil.get(key) ?? 0) > Date.now()) continue;
      try {
        const plot = await readPlotFile(file, outputRoot, v.output_dir, v.finished_at);
        if (!plot) continue;
        await insertPlot(database, {
          instrument,
          run,
          version: v.version,
          name: plot.name,
          figure: plot.figure,
          source: PLOT_FILE_SOURCE,
          uploadedBy: basename(file),
          createdAt: plot.writtenAt,
        });
        stored++;
        log?.info({ instrument, run, version: v.version, file }, "web: plot file read");
      } catch (e) {
        if (failedUntil.size >= MAX_FAILURES_KEPT) failedUntil.clear();
        failedUntil.set(key, Date.now() + RETRY_AFTER_MS);
        log?.warn(
          { err: e, instrument, run, version: v.version, file },
          "web: plot file not read (tried again in 5 min)",
        );
      }
    }
  }
  return stored;
}

/**
 * Whether a file's name says it is another run's (`NOM_12346.plot.json` for run 12345). In an
 * output folder shared by an experiment's runs (SNS), a version's recorded outputs are the files
 * written while it ran, which include those of runs reduced at the same time.
 */
export function namesAnotherRun(name: string, instrument: string, run: number): boolean {
  const prefix = instrument.replace(/[^A-Za-z0-9]/g, (c) => `\\${c}`);
  const match = new RegExp(`^${prefix}_?0*(\\d+)(?!\\d)`, "i").exec(name);
  return match !== null && Number(match[1]) !== run;
}

/**
 * One plot file, confined to its version's output folder (its real path, links resolved, must be
 * inside), which must itself lie inside the configured output root (the folder is what a worker
 * reported: it is not trusted to name any place): its figure and name, or a figure with no traces and a note when its content cannot be
 * read; null when the file was rewritten after the version finished.
 */
async function readPlotFile(
  file: string,
  outputRoot: string,
  outputDir: string,
  finishedAt: number | null,
): Promise<{ name: string; figure: Figure; writtenAt: number } | null> {
  const folder = await insideOutputRoot(outputRoot, outputDir);
  if (!folder) throw new Error(`the output folder ${outputDir} is not inside the output root ${outputRoot}`);
  const real = await realpath(file);
  if (!real.startsWith(folder.endsWith(sep) ? folder : folder + sep))
    throw new Error(`${file} is not inside the output folder ${outputDir}`);
  const info = await stat(real);
  if (!info.isFile()) throw new Error(`${file} is not a file`);
  if (finishedAt !== null && info.mtimeMs > Number(finishedAt) + REWRITTEN_AFTER_MS) return null;
  const stem = basename(file).slice(0, -PLOT_FILE_SUFFIX.length) || "plot";
  const failed = (reason: string) => ({
    name: stem,
    figure: { data: [], layout: {}, notes: [`${basename(file)} could not be read: ${reason}`] },
    writtenAt: Math.round(info.mtimeMs),
  });
  if (info.size > MAX_PLOT_FILE_BYTES)
    return failed(`it is larger than ${MAX_PLOT_FILE_BYTES / 1024 / 1024} MiB`);
  try {
    const parsed = parsePlotText(await readFile(real, "utf8"));
    return { name: parsed.name ?? stem, figure: parsed.figure, writtenAt: Math.round(info.mtimeMs) };
  } catch (e) {
    if (e instanceof PlotParseError) return failed(e.message);
    throw e;
  }
}
