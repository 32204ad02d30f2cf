import { formatAge, formatDuration, formatTime } from "../views/format.ts";
import { StatusBadge } from "../views/layout.tsx";
import type { VersionRow } from "./instrument-data.ts";

/** Links to a run's and an experiment's pages. */
export const runHref = (instrument: string, run: number, version?: number) =>
  `/runs/${encodeURIComponent(instrument)}/${run}${version === undefined ? "" : `?version=${version}`}`;
export const experimentHref = (experiment: string) => `/experiments/${encodeURIComponent(experiment)}`;

/** Run numbers as compact ranges: `[1,2,3,7]` → `1-3, 7` (the form the re-run field reads back). */
export function compactRuns(runs: readonly number[]): string {
  const sorted = [...new Set(runs)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(", ");
}

/**
 * A table of reduction versions of one instrument. Each row carries `data-run` so its status
 * badge changes live (static/app.js); `show` picks the optional columns.
 */
export function VersionTable({
  instrument,
  rows,
  caption,
  empty,
  show,
  total,
  now = Date.now(),
}: {
  instrument: string;
  rows: VersionRow[];
  caption: string;
  empty: string;
  show: { message?: boolean; waited?: boolean; ran?: boolean };
  /** How many there are in all, when more than the rows shown. */
  total?: number;
  now?: number;
}) {
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    <>
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Experiment</th>
            <th scope="col">Title</th>
            <th scope="col" class="num">
              Version
            </th>
            <th scope="col">Status</th>
            {show.waited ? <th scope="col">Queued</th> : null}
            {show.ran ? <th scope="col">Running for</th> : null}
            {show.ran ? <th scope="col">Host</th> : null}
            {show.message ? <th scope="col">Finished</th> : null}
            {show.message ? <th scope="col">Error</th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr
              key={`${r.run_number}/${r.version}`}
              data-run={`${instrument}/${r.run_number}`}
              data-version={r.version}
            >
              <td>
                <a href={runHref(instrument, r.run_number, r.version)}>{r.run_number}</a>
              </td>
              <td>
                <a href={experimentHref(r.experiment)}>{r.experiment}</a>
              </td>
              <td>{r.title ?? ""}</td>
              <td class="num">{r.version}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              {show.waited ? <td title={formatTime(r.created_at)}>{formatAge(r.created_at, now)}</td> : null}
              {show.ran ? (
                <td>{r.started_at === null ? "—" : formatDuration((now - r.started_at) / 1000)}</td>
              ) : null}
              {show.ran ? <td>{r.host ?? "—"}</td> : null}
              {show.message ? <td>{formatTime(r.finished_at ?? r.created_at)}</td> : null}
              {show.message ? <td class="message-cell">{r.message || "(no message)"}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
      {total !== undefined && total > rows.length ? (
        <p class="muted">{`${rows.length} of ${total >= 1000 ? "1000 or more" : total} shown.`}</p>
      ) : null}
    </>
  );
}
