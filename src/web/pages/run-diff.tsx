import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { Layout, type PageFrame } from "../views/layout.tsx";
import { type DiffHunk, diffHunks, diffLines, diffStats, splitLines } from "../views/line-diff.ts";
import type { WebContext } from "../web-context.ts";
import { badRequest } from "./run-answers.tsx";
import {
  findReadableRun,
  type RunRecord,
  runPath,
  scriptTextOf,
  VersionNumber,
  type VersionRow,
} from "./run-data.ts";
import { reasonText } from "./run-sections.tsx";
import { flattenVariables, showValue, type VariableChange, variableChanges } from "./run-variables.ts";

const DiffQuery = z.object({ a: VersionNumber.optional(), b: VersionNumber.optional() });

/** Two versions of a run side by side: what changed in the script text and the variables. */
export function registerRunDiff(app: FastifyInstance, ctx: WebContext): void {
  app.get("/runs/:instrument/:run/diff", async (request, reply) => {
    const found = await findReadableRun(ctx, request, reply, (text) => badRequest(ctx, request, reply, text));
    if ("reply" in found) return found.reply;
    const { run } = found;
    const query = DiffQuery.safeParse(request.query);
    if (!query.success)
      return badRequest(ctx, request, reply, "Give the two versions to compare as ?a=<version>&b=<version>.");
    const latest = run.versions.at(-1)?.version ?? 0;
    const bNumber = query.data.b ?? latest;
    const aNumber = query.data.a ?? Math.max(0, bNumber - 1);
    const a = run.versions.find((v) => v.version === aNumber);
    const b = run.versions.find((v) => v.version === bNumber);
    if (!a || !b)
      return ctx.notFound(
        request,
        reply,
        `Run ${run.run_number} of ${run.instrument} has versions 0 to ${latest}; version ${a ? bNumber : aNumber} does not exist.`,
      );
    const [aText, bText, frame] = await Promise.all([
      scriptTextOf(ctx.database, a.job_id),
      scriptTextOf(ctx.database, b.job_id),
      ctx.frame(request),
    ]);
    return ctx.page(reply, <DiffPage frame={frame} run={run} a={a} b={b} aText={aText} bText={bText} />);
  });
}

function DiffPage({
  frame,
  run,
  a,
  b,
  aText,
  bText,
}: {
  frame: PageFrame;
  run: RunRecord;
  a: VersionRow;
  b: VersionRow;
  aText: string | null;
  bText: string | null;
}) {
  const base = runPath(run.instrument, run.run_number);
  const changes = variableChanges(flattenVariables(a.variables), flattenVariables(b.variables));
  return (
    <Layout
      frame={frame}
      title={`${run.instrument} run ${run.run_number}: v${a.version} ↔ v${b.version}`}
      wide
    >
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="/">Runs</a> › <a href={base}>{`${run.instrument} run ${run.run_number}`}</a> › compare
      </nav>
      <h1>{`${run.instrument} run ${run.run_number}: version ${a.version} ↔ version ${b.version}`}</h1>
      <form method="get" action={`${base}/diff`} class="filters">
        <label for="diff-a">
          From version
          <VersionSelect id="diff-a" name="a" run={run} value={a.version} />
        </label>
        <label for="diff-b">
          To version
          <VersionSelect id="diff-b" name="b" run={run} value={b.version} />
        </label>
        <button type="submit">Compare</button>
      </form>
      <p>
        <a href={`${base}?version=${a.version}`}>{`Open version ${a.version}`}</a> ·{" "}
        <a href={`${base}?version=${b.version}`}>{`Open version ${b.version}`}</a>
      </p>
      <section aria-labelledby="facts-title">
        <h2 id="facts-title">What ran</h2>
        <FactsTable a={a} b={b} />
      </section>
      <section aria-labelledby="vars-title">
        <h2 id="vars-title">Variables</h2>
        <VariablesDiff changes={changes} a={a.version} b={b.version} />
      </section>
      <section aria-labelledby="script-title">
        <h2 id="script-title">Script text</h2>
        <ScriptDiff a={a} b={b} aText={aText} bText={bText} />
      </section>
    </Layout>
  );
}

function VersionSelect({
  id,
  name,
  run,
  value,
}: {
  id: string;
  name: string;
  run: RunRecord;
  value: number;
}) {
  return (
    <select id={id} name={name}>
      {run.versions.map((v) => (
        <option key={v.version} value={String(v.version)} selected={v.version === value}>
          {`v${v.version} (${v.status})`}
        </option>
      ))}
    </select>
  );
}

function FactsTable({ a, b }: { a: VersionRow; b: VersionRow }) {
  const rows: Array<[string, string | null, string | null]> = [
    ["Status", a.status, b.status],
    ["Why", reasonText(a.reason), reasonText(b.reason)],
    ["Started by", a.started_by, b.started_by],
    ["Description", a.description, b.description],
    ["Script", a.script_path, b.script_path],
    ["Script hash (sha256)", a.script_hash, b.script_hash],
    ["Interpreter", a.interpreter, b.interpreter],
    ["Host", a.host, b.host],
  ];
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">What</th>
          <th scope="col">{`Version ${a.version}`}</th>
          <th scope="col">{`Version ${b.version}`}</th>
          <th scope="col">Same?</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([what, x, y]) => (
          <tr key={what} class={x === y ? undefined : "changed"}>
            <th scope="row">{what}</th>
            <td class="wrap">{x ?? "—"}</td>
            <td class="wrap">{y ?? "—"}</td>
            <td>{x === y ? "same" : "different"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const CHANGE_WORDS: Record<VariableChange["kind"], string> = {
  same: "same",
  changed: "changed",
  added: "only in the second",
  removed: "only in the first",
};

/** The variables that differ (changed, added, removed), and the unchanged ones folded away. */
function VariablesDiff({ changes, a, b }: { changes: VariableChange[]; a: number; b: number }) {
  if (changes.length === 0) return <p class="muted">Neither version has variables.</p>;
  const differing = changes.filter((c) => c.kind !== "same");
  const same = changes.filter((c) => c.kind === "same");
  return (
    <>
      {differing.length === 0 ? (
        <p>{`All ${same.length} variables have the same values.`}</p>
      ) : (
        <table class="variables-diff">
          <thead>
            <tr>
              <th scope="col">Variable</th>
              <th scope="col">{`Version ${a}`}</th>
              <th scope="col">{`Version ${b}`}</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {differing.map((c) => (
              <tr key={c.name} class={`change-${c.kind}`}>
                <th scope="row">
                  <code>{c.name}</code>
                </th>
                <td>
                  <code>{showValue(c.before)}</code>
                </td>
                <td>
                  <code>{showValue(c.after)}</code>
                </td>
                <td>{CHANGE_WORDS[c.kind]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {same.length > 0 && differing.length > 0 ? (
        <details>
          <summary>{`${same.length} unchanged ${same.length === 1 ? "variable" : "variables"}`}</summary>
          <ul class="plain">
            {same.map((c) => (
              <li key={c.name}>
                <code>{`${c.name} = ${showValue(c.before)}`}</code>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </>
  );
}

function ScriptDiff({
  a,
  b,
  aText,
  bText,
}: {
  a: VersionRow;
  b: VersionRow;
  aText: string | null;
  bText: string | null;
}) {
  if (aText === null && bText === null)
    return (
      <p class="muted">Neither version recorded its script text (the worker ran the script file it found).</p>
    );
  if (aText === bText)
    return (
      <p>
        {"The script text is the same in both versions"}
        {a.script_hash ? (
          <>
            {" (sha256 "}
            <code class="hash">{a.script_hash}</code>
            {")."}
          </>
        ) : (
          "."
        )}
      </p>
    );
  const lines = diffLines(splitLines(aText ?? ""), splitLines(bText ?? ""));
  const { added, removed } = diffStats(lines);
  const hunks = diffHunks(lines);
  return (
    <>
      {aText === null || bText === null ? (
        <p class="muted">{`Version ${aText === null ? a.version : b.version} did not record its script text: shown as empty.`}</p>
      ) : null}
      <p>{`${added} ${added === 1 ? "line" : "lines"} added, ${removed} removed (lines starting with + are only in version ${b.version}, with − only in version ${a.version}).`}</p>
      <div class="diff">
        {hunks.map((h, i) => (
          <Hunk key={i} hunk={h} />
        ))}
      </div>
    </>
  );
}

function Hunk({ hunk }: { hunk: DiffHunk }) {
  const width = String(Math.max(hunk.aStart + hunk.aCount, hunk.bStart + hunk.bCount)).length;
  const number = (n: number | null) => (n === null ? "".padStart(width) : String(n).padStart(width));
  return (
    <pre class="light hunk">
      <span class="hunk-head">{`@@ lines ${hunk.aStart}–${hunk.aStart + Math.max(hunk.aCount, 1) - 1} → ${hunk.bStart}–${hunk.bStart + Math.max(hunk.bCount, 1) - 1} @@`}</span>
      {hunk.lines.map((l, i) => (
        <span key={i} class={l.kind === "same" ? "same" : l.kind}>
          {`${number(l.a)} ${number(l.b)} ${l.kind === "add" ? "+" : l.kind === "del" ? "−" : " "} ${l.text}`}
        </span>
      ))}
    </pre>
  );
}
