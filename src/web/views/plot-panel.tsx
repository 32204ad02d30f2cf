import type { SqlDatabase } from "../../store/state-database.ts";
import type { Figure } from "./figure.ts";
import { FigureSvg } from "./figure-svg.tsx";
import { formatTime } from "./format.ts";

/** A plot published for a run, as stored (the figure parsed and checked at upload). */
export interface StoredPlot {
  id: number;
  name: string;
  version: number | null;
  figure: Figure;
  source: string;
  uploaded_by: string | null;
  created_at: number;
}

/** A run's plots, newest first. */
export async function runPlots(
  database: SqlDatabase,
  instrument: string,
  run: number,
): Promise<StoredPlot[]> {
  const rows = await database.db
    .selectFrom("plots")
    .select(["id", "name", "version", "figure", "source", "uploaded_by", "created_at"])
    .where("instrument", "=", instrument.toUpperCase())
    .where("run_number", "=", run)
    .orderBy("id", "desc")
    .limit(50)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name,
    version: r.version === null ? null : Number(r.version),
    figure: JSON.parse(r.figure) as Figure,
    source: r.source,
    uploaded_by: r.uploaded_by,
    created_at: Number(r.created_at),
  }));
}

/** The run page's plots: the latest drawn large, older ones listed with their version. */
export function PlotPanel({
  plots,
  instrument,
  run,
}: {
  plots: StoredPlot[];
  instrument: string;
  run: number;
}) {
  const [latest, ...older] = plots;
  if (!latest) return <p class="muted">No plot was published for this run.</p>;
  return (
    <div class="plot">
      <FigureSvg figure={latest.figure} label={`${latest.name}: plot of ${instrument} run ${run}`} />
      <p class="muted">
        {latest.name}, {latest.version === null ? "" : `version ${latest.version}, `}published{" "}
        {formatTime(latest.created_at)}
        {" · "}
        <a href={`/api/v1/plots/${instrument}/${run}/${latest.id}?format=text`}>data as text</a>
      </p>
      {older.length > 0 ? (
        <details>
          <summary>Earlier plots ({older.length})</summary>
          <ul>
            {older.map((p) => (
              <li key={p.id}>
                {p.name} {p.version === null ? "" : `(version ${p.version})`} — {formatTime(p.created_at)} ·{" "}
                <a href={`/api/v1/plots/${instrument}/${run}/${p.id}?format=text`}>data</a>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}
