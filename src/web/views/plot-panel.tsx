import type { Logger } from "../../logging/logger.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import { drawnFigures } from "../plots/drawn-figures.ts";
import { ingestPlotFiles, PLOT_FILE_SOURCE } from "../plots/plot-files.ts";
import { listPlots } from "../plots/plot-store.ts";
import type { Figure } from "./figure.ts";
import { FigureSvg } from "./figure-svg.tsx";
import { formatTime } from "./format.ts";

/** A plot published for a run, as stored (the figure parsed and checked at upload). */
export interface StoredPlot {
  id: number;
  name: string;
  version: number | null;
  /** The figure as drawn: long traces strided, large heatmaps averaged (every point is at the plot's URL). */
  figure: Figure;
  source: string;
  uploaded_by: string | null;
  created_at: number;
}

/** Plots shown on a run page at most (newest first). */
const SHOWN = 50;

/**
 * A run's plots, newest first, with their figures as drawn. Plot files of completed versions not
 * read yet (web/plots/plot-files.ts) are read first, so a plot appears even when no web process
 * heard the version complete.
 */
export async function runPlots(
  database: SqlDatabase,
  outputRoot: string,
  instrument: string,
  run: number,
  log?: Logger,
): Promise<StoredPlot[]> {
  await ingestPlotFiles(database, outputRoot, instrument, run, log);
  const records = await listPlots(database, instrument, run, SHOWN);
  const figures = await drawnFigures(
    database,
    records.map((r) => r.id),
  );
  return records.map((r) => ({
    id: r.id,
    name: r.name,
    version: r.version,
    figure: figures.get(r.id) ?? { data: [], layout: {} },
    source: r.source,
    uploaded_by: r.uploaded_by,
    created_at: r.created_at,
  }));
}

const SOURCES: Record<string, string> = {
  "plotly-div": "a Plotly div",
  "plotly-json": "Plotly JSON",
  series: "series",
};

/** Who published the plot and how, in words. */
function publishedBy(p: StoredPlot): string {
  if (p.source === PLOT_FILE_SOURCE)
    return `written by the reduction script as ${p.uploaded_by ?? "a plot file"}`;
  return `published by ${p.uploaded_by ?? "someone unknown"} as ${SOURCES[p.source] ?? p.source}`;
}

const versionText = (p: StoredPlot) => (p.version === null ? "" : `version ${p.version}, `);

/** The plots of a run grouped by name, each group newest first, groups by their newest plot. */
function byName(plots: StoredPlot[]): StoredPlot[][] {
  const groups = new Map<string, StoredPlot[]>();
  for (const p of plots) {
    const group = groups.get(p.name);
    if (group) group.push(p);
    else groups.set(p.name, [p]);
  }
  return [...groups.values()];
}

function PlotLinks({ base, plot }: { base: string; plot: StoredPlot }) {
  return (
    <span class="plot-links">
      <a href={`${base}/${plot.id}?format=text`} download>
        data as text
      </a>
      {" · "}
      <a href={`${base}/${plot.id}`}>JSON</a>
      {" · "}
      <a href={`${base}/${plot.id}?format=svg`}>picture (SVG)</a>
    </span>
  );
}

/**
 * The run page's plots: for each plot name the latest drawn large (latest wins, as on SNS's plot
 * server), the earlier ones (other versions, earlier uploads) listed under it with their data.
 */
export function PlotPanel({
  plots,
  instrument,
  run,
}: {
  plots: StoredPlot[];
  instrument: string;
  run: number;
}) {
  if (plots.length === 0)
    return (
      <p class="muted plot-empty">
        No plots yet. A reduction script publishes one by writing a <code>&lt;name&gt;.plot.json</code> file
        into its output folder, or by sending it to the plot API (see “Publishing plots” in the scripts
        guide).
      </p>
    );
  const base = `/api/v1/plots/${instrument}/${run}`;
  return (
    <div class="plots">
      {byName(plots).map((group) => {
        const [latest, ...older] = group as [StoredPlot, ...StoredPlot[]];
        return (
          <figure class="plot" key={latest.id} id={`plot-${latest.id}`}>
            <FigureSvg figure={latest.figure} label={`${latest.name}: plot of ${instrument} run ${run}`} />
            <figcaption>
              <strong>{latest.name}</strong>
              <span class="muted">
                {" "}
                — {versionText(latest)}
                {publishedBy(latest)}, {formatTime(latest.created_at)}
              </span>
              <br />
              <PlotLinks base={base} plot={latest} />
            </figcaption>
            {latest.figure.notes?.length ? (
              <ul class="plot-notes">
                {latest.figure.notes.map((note, i) => (
                  <li key={i}>{note}</li>
                ))}
              </ul>
            ) : null}
            {older.length > 0 ? (
              <details class="plot-older">
                <summary>
                  Earlier plots named “{latest.name}” ({older.length})
                </summary>
                <ul>
                  {older.map((p) => (
                    <li key={p.id}>
                      {versionText(p)}
                      {publishedBy(p)}, {formatTime(p.created_at)} · <PlotLinks base={base} plot={p} />
                      <br />
                      <img
                        src={`${base}/${p.id}?format=svg`}
                        loading="lazy"
                        width={360}
                        height={190}
                        alt={`${p.name}, ${versionText(p)}published ${formatTime(p.created_at)}`}
                      />
                    </li>
                  ))}
                </ul>
              </details>
            ) : null}
          </figure>
        );
      })}
    </div>
  );
}
