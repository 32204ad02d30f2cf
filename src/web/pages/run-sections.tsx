import { LOG_TAIL_BYTES } from "../live/log-stream.ts";
import { formatBytes, formatDuration, formatTime } from "../views/format.ts";
import { StatusBadge } from "../views/layout.tsx";
import { splitLines } from "../views/line-diff.ts";
import { type RunRecord, runPath, UNFINISHED, type VersionRow } from "./run-data.ts";
import type { OutputListing } from "./run-files.ts";
import type { TimelineItem } from "./run-timeline.ts";
import { type FlatVariable, flattenVariables, showValue } from "./run-variables.ts";

/** Reasons as people say them. */
const REASONS: Record<string, string> = {
  automatic: "automatic",
  manual: "submitted by hand",
  rerun: "re-run",
  batch: "batch re-run",
};

export const reasonText = (reason: string) => REASONS[reason] ?? reason;

/** `/runs/I/R/files/a/b.nxs?version=N`, each part of the name encoded. */
function fileHref(run: RunRecord, version: number, name: string): string {
  return `${runPath(run.instrument, run.run_number)}/files/${name.split("/").map(encodeURIComponent).join("/")}?version=${version}`;
}

/** The table of every version (swapped in live when a version appears or changes). */
export function VersionsTable({ run, selected }: { run: RunRecord; selected: number }) {
  const base = runPath(run.instrument, run.run_number);
  return (
    <div id="versions" class="table-scroll">
      <table>
        <caption class="visually-hidden">Every reduction version of this run, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Why</th>
            <th scope="col">Started by</th>
            <th scope="col">Created</th>
            <th scope="col">Started</th>
            <th scope="col">Finished</th>
            <th scope="col" class="num">
              Duration
            </th>
            <th scope="col">Ran on</th>
            <th scope="col" class="num">
              Peak memory
            </th>
            <th scope="col" class="num">
              Exit code
            </th>
            <th scope="col" class="num">
              Attempts
            </th>
            <th scope="col">Compare</th>
          </tr>
        </thead>
        <tbody>
          {run.versions.map((v) => (
            <tr key={v.version} class={v.version === selected ? "selected" : undefined}>
              <td>
                <a
                  href={`${base}?version=${v.version}`}
                  aria-current={v.version === selected ? "true" : undefined}
                >
                  {`v${v.version}`}
                </a>
                {v.version === selected ? <span class="muted"> (shown)</span> : null}
              </td>
              <td>
                <StatusBadge status={v.status} />
              </td>
              <td>{reasonText(v.reason)}</td>
              <td>
                {v.started_by ?? "—"}
                {v.description ? <div class="muted small">{v.description}</div> : null}
              </td>
              <td class="nowrap">{formatTime(v.created_at)}</td>
              <TimeCell at={v.started_at} day={v.created_at} />
              <TimeCell at={v.finished_at} day={v.created_at} />
              <td class="num">{formatDuration(v.duration_seconds)}</td>
              <td>
                {v.host ?? "—"}
                {v.executor || v.queue ? (
                  <div class="muted small">
                    {[v.executor, v.queue?.replace(/^\/(queue|topic)\//, "")].filter(Boolean).join(" · ")}
                  </div>
                ) : null}
              </td>
              <td class="num">{formatBytes(v.peak_memory_bytes)}</td>
              <td class="num">{v.exit_code ?? "—"}</td>
              <td class="num">{v.attempts}</td>
              <td>
                {v.version === selected ? (
                  "—"
                ) : (
                  <a
                    href={`${base}/diff?a=${Math.min(v.version, selected)}&b=${Math.max(v.version, selected)}`}
                  >
                    {`v${Math.min(v.version, selected)} ↔ v${Math.max(v.version, selected)}`}
                  </a>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A time in a version's row: the time of day only when it is the day the version was created. */
function TimeCell({ at, day }: { at: number | null; day: number }) {
  if (at === null) return <td>—</td>;
  const full = formatTime(at);
  const sameDay = full.slice(0, 10) === formatTime(day).slice(0, 10);
  return (
    <td class="nowrap">
      <time datetime={new Date(at).toISOString()} title={full}>
        {sameDay ? full.slice(11) : full}
      </time>
    </td>
  );
}

/** What the shown version did: its status, message and files (swapped in live as it runs and ends). */
export function Outcome({
  run,
  version,
  files,
}: {
  run: RunRecord;
  version: VersionRow;
  files: OutputListing;
}) {
  const running = UNFINISHED.includes(version.status);
  const failed = version.status === "error";
  return (
    <div id="outcome">
      <p>
        <StatusBadge status={version.status} />{" "}
        {running ? (
          <span class="muted">
            {version.status === "running"
              ? `running since ${formatTime(version.started_at)}`
              : version.status}
            {version.retry_at !== null && version.status === "retrying"
              ? `; next try ${formatTime(version.retry_at)}`
              : ""}
          </span>
        ) : (
          <span class="muted">
            {version.finished_at !== null ? `ended ${formatTime(version.finished_at)}` : ""}
            {version.duration_seconds !== null ? ` after ${formatDuration(version.duration_seconds)}` : ""}
          </span>
        )}
      </p>
      {version.message ? (
        <div class={failed ? "outcome-message failed" : "outcome-message"}>
          <h3>{failed ? "Why it failed" : "Message"}</h3>
          <pre class="light">{version.message}</pre>
        </div>
      ) : null}
      <section id="files" aria-labelledby="files-title">
        <h2 id="files-title">Reduced files</h2>
        <FilesList run={run} version={version} files={files} />
      </section>
    </div>
  );
}

function FilesList({ run, version, files }: { run: RunRecord; version: VersionRow; files: OutputListing }) {
  const folder = version.output_dir ? (
    <p>
      Output folder: <code>{version.output_dir}</code>
    </p>
  ) : null;
  if (files.total === 0 || files.servable === 0) {
    const why = UNFINISHED.includes(version.status)
      ? "No files yet: they are listed here when the script has finished."
      : files.total === 0
        ? "This version recorded no reduced files."
        : "None of this version's recorded files can be downloaded any more (moved, deleted or outside its folder).";
    return (
      <>
        {folder}
        <p class="muted">{why}</p>
      </>
    );
  }
  const zip = `${runPath(run.instrument, run.run_number)}/files.zip?version=${version.version}`;
  return (
    <>
      {folder}
      <p>
        <a class="button secondary" href={zip} download>
          {`Download all as zip (${files.servable} ${files.servable === 1 ? "file" : "files"})`}
        </a>
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col" class="num">
              Size
            </th>
          </tr>
        </thead>
        <tbody>
          {files.files.map((f) => (
            <tr key={f.name}>
              <td>
                {f.size === null ? (
                  <span>
                    <code>{f.name}</code>{" "}
                    <span class="muted">{`(not available: ${f.problem ?? "unknown"})`}</span>
                  </span>
                ) : (
                  <a href={fileHref(run, version.version, f.name)} download>
                    <code>{f.name}</code>
                  </a>
                )}
              </td>
              <td class="num">{formatBytes(f.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {files.total > files.files.length ? (
        <p class="muted">{`${files.total - files.files.length} more files are in the zip.`}</p>
      ) : null}
    </>
  );
}

/** What the shown version ran: script, interpreter, variables and the exact script text. */
export function WhatRan({ version, scriptText }: { version: VersionRow; scriptText: string | null }) {
  const variables = flattenVariables(version.variables);
  return (
    <>
      <dl class="facts">
        <dt>Script</dt>
        <dd>{version.script_path ? <code>{version.script_path}</code> : "—"}</dd>
        <dt>Script hash (sha256)</dt>
        <dd>{version.script_hash ? <code class="hash">{version.script_hash}</code> : "—"}</dd>
        <dt>Interpreter</dt>
        <dd>{version.interpreter ? <code>{version.interpreter}</code> : "—"}</dd>
        <dt>Job id</dt>
        <dd>
          <code>{version.job_id}</code>
        </dd>
        {version.external_id ? (
          <>
            <dt>Executor's id</dt>
            <dd>
              <code>{version.external_id}</code>
            </dd>
          </>
        ) : null}
        {version.route ? (
          <>
            <dt>Routing rule</dt>
            <dd>{version.route}</dd>
          </>
        ) : null}
      </dl>
      <h3>Variables</h3>
      <VariablesTable variables={variables} />
      {scriptText === null ? (
        <p class="muted">
          The script text was not recorded for this version: the worker ran the script file it found.
        </p>
      ) : (
        <details class="script">
          <summary>{`Script text (${splitLines(scriptText).length} lines)`}</summary>
          <pre class="light">{scriptText}</pre>
        </details>
      )}
    </>
  );
}

function VariablesTable({ variables }: { variables: FlatVariable[] }) {
  if (variables.length === 0)
    return <p class="muted">No variables: the script had none (no reduce_vars.py beside it).</p>;
  return (
    <table class="variables">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Value</th>
          <th scope="col">Kind</th>
        </tr>
      </thead>
      <tbody>
        {variables.map((v) => (
          <tr key={v.name}>
            <td>
              <code>{v.name}</code>
            </td>
            <td>
              <code>{showValue(v.value)}</code>
            </td>
            <td class="muted">{v.section}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One of the two logs of the shown version: its tail, and the live stream while it runs. */
export interface LogView {
  stream: "out" | "err";
  /** The recorded path (null: none recorded yet). */
  path: string | null;
  state: "ok" | "none" | "unreadable" | "outside";
  text: string;
  size: number;
  truncated: boolean;
  /** The live stream's address while the version is unfinished. */
  live: string | null;
  /** The whole log, as text. */
  href: string;
}

export function LogPanel({ log }: { log: LogView }) {
  const title = log.stream === "out" ? "Output (stdout)" : "Errors (stderr)";
  const id = `log-${log.stream}`;
  const empty =
    log.state === "none"
      ? "No log file recorded yet: the worker records it when the script starts."
      : log.state === "unreadable"
        ? "The log file cannot be read (moved or deleted)."
        : log.state === "outside"
          ? "The log file is outside the facility's output area, so it is not shown here."
          : log.text === ""
            ? "Empty so far."
            : null;
  return (
    <section class="log" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{title}</h3>
      {log.path ? (
        <p class="muted small">
          <code>{log.path}</code>
          {log.state === "ok" ? (
            <>
              {` · ${formatBytes(log.size)} · `}
              <a href={log.href}>whole log</a>
            </>
          ) : null}
        </p>
      ) : null}
      {log.truncated ? (
        <p class="muted small">
          {`Showing the last ${formatBytes(LOG_TAIL_BYTES)} of ${formatBytes(log.size)}: open the whole log for the rest.`}
        </p>
      ) : null}
      {empty ? (
        <p class="muted" data-log-empty={id}>
          {empty}
        </p>
      ) : null}
      <pre
        id={id}
        class="log-text"
        tabindex={0}
        hidden={log.text === "" ? true : undefined}
        data-log-stream={log.live ?? undefined}
        data-log-offset={log.live ? String(log.size) : undefined}
      >
        {log.text}
      </pre>
      {log.live ? (
        <label class="follow" hidden>
          <input type="checkbox" checked data-follow={id} /> Follow the end of the log
        </label>
      ) : null}
    </section>
  );
}

/** The merged timeline, oldest first. */
export function Timeline({ items }: { items: TimelineItem[] }) {
  if (items.length === 0) return <p class="muted">Nothing recorded yet.</p>;
  return (
    <ol class="timeline">
      {items.map((item, i) => (
        <li key={i}>
          <span class="mono">{formatTime(item.at)}</span>
          <span>
            {item.version !== null ? <span class="muted">{`v${item.version} · `}</span> : null}
            <span title={item.destination ?? undefined}>{item.label}</span>
          </span>
          <span>
            {item.detail}
            {item.host ? <span class="muted">{`${item.detail ? " · " : ""}on ${item.host}`}</span> : null}
          </span>
        </li>
      ))}
    </ol>
  );
}
