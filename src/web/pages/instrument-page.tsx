import { statSync } from "node:fs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { instrumentSettings } from "../../config/instrument-settings.ts";
import { OperationRefused, requestRerun, setVariables } from "../../coordinator/operations.ts";
import type { RerunPreview } from "../../coordinator/rerun-handler.ts";
import { ScriptCatalog } from "../../coordinator/script-catalog.ts";
import { effectiveVariables } from "../../coordinator/variable-selection.ts";
import { RefusedError } from "../../failures/refused-error.ts";
import { parseRunRanges, RunRangeError } from "../../scripts/run-ranges.ts";
import { setPaused } from "../../store/reduction-store.ts";
import { findOrCreateInstrument } from "../../store/run-store.ts";
import { deleteVariableSet, type VariableSetView, variableSets } from "../../store/variable-store.ts";
import { canManageInstrument, canReadInstrument, rerunCapRole, type Viewer } from "../auth/viewer.ts";
import type { Figure } from "../views/figure.ts";
import { FigureSvg } from "../views/figure-svg.tsx";
import { formatAge, formatDuration, formatTime } from "../views/format.ts";
import { CsrfField, Layout, type PageFrame } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";
import { RerunFields, RerunForm, RerunPage } from "./batch-rerun.tsx";
import {
  activeVersions,
  experimentsOn,
  instrumentRow,
  instrumentsOfExperiments,
  lastRun,
  RECENT_RUNS,
  recentDurations,
  recentFailures,
} from "./instrument-data.ts";
import type { EditorState, InstrumentView } from "./instrument-view.ts";
import { compactRuns, runHref, VersionTable } from "./run-lists.tsx";
import {
  checkEditor,
  type EditorInput,
  formatValue,
  overviewOfSets,
  scriptVariables,
  VariableHelp,
} from "./variable-editor.ts";
import { VariablesSection } from "./variables-view.tsx";

/**
 * `/instruments/<INST>`: an instrument at a glance and its controls.
 *
 * Who sees what: the instrument's readers (its scientists, administrators, `read` tokens, and
 * anyone when it is open to anonymous reading) see everything — state, queue, running, recent
 * failures, the run-time chart, the script and the variable sets. A member of an experiment with
 * runs on the instrument who reads it no other way sees a reduced view: its state, and the
 * queue, running versions and failures of their own experiments' runs only (no script, no
 * variables: those belong to the instrument's staff). Scientists of the instrument and
 * administrators also get the controls: pause and resume, the variable editor and deletion of
 * sets, and the batch re-run of a range (preview first, then confirm). Every control is a form
 * that posts (with its CSRF token) and redirects back with a notice.
 */

const QUEUE_SHOWN = 100;
const FAILURES_SHOWN = 20;
const DURATION_POINTS = 200;

const Name = z
  .string()
  .regex(/^[A-Za-z0-9_]{1,64}$/)
  .transform((s) => s.toUpperCase());
const Params = z.object({ instrument: Name });
const SetParams = z.object({ instrument: Name, id: z.coerce.number().int().positive() });
const Notice = z.object({
  notice: z.enum(["paused", "resumed", "set-saved", "set-deleted", "rerun-sent"]).optional(),
  set: z.coerce.number().int().positive().optional(),
  affected: z.coerce.number().int().nonnegative().optional(),
  queued: z.coerce.number().int().nonnegative().optional(),
  left: z.coerce.number().int().nonnegative().optional(),
  rerun: z.string().max(600).optional(),
});

export function registerInstrumentPage(app: FastifyInstance, ctx: WebContext): void {
  const catalog = new ScriptCatalog(ctx.config);
  const help = new VariableHelp(ctx.config);
  const deps = { config: ctx.config, database: ctx.database, transport: ctx.transport, log: ctx.log };

  /** The view of an instrument for this viewer, or the answer already sent (denied, not found, bad name). */
  const load = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<InstrumentView | FastifyReply> => {
    const params = Params.safeParse(request.params);
    if (!params.success)
      return ctx.notFound(request, reply, "no such instrument (names are letters, digits and _)");
    const name = params.data.instrument;
    const v = request.viewer;
    const access = await accessOf(ctx, v, name);
    if (!access) return ctx.deny(request, reply, `the instrument ${name}`);
    const settings = instrumentSettings(ctx.config, name);
    const row = await instrumentRow(ctx.database, name);
    if (!settings && !row)
      return ctx.notFound(request, reply, `no instrument ${name} (not configured, no runs)`);
    const experiments = access === "member" ? await experimentsOn(ctx.database, name, [...v.memberOf]) : null;
    const scope = experiments ?? undefined;
    const [active, failures, durations, last] = row
      ? await Promise.all([
          activeVersions(ctx.database, name, scope),
          recentFailures(ctx.database, row.id, FAILURES_SHOWN, scope),
          access === "full" ? recentDurations(ctx.database, row.id, DURATION_POINTS) : Promise.resolve([]),
          lastRun(ctx.database, row.id, scope),
        ])
      : [[], [], [], null];
    const view: InstrumentView = {
      name,
      settings,
      facility: settings?.facility ?? row?.facility ?? ctx.config.facility,
      paused: row?.paused ?? false,
      access,
      manage: canManageInstrument(v, name),
      experiments,
      active,
      failures,
      durations,
      last,
      script: null,
      variables: null,
      variablesProblem: null,
      overview: overviewOfSets([], null),
      deletedSets: 0,
      nextValues: {},
      cap: { role: rerunCapRole(v, name), runs: ctx.config.rerun_caps[rerunCapRole(v, name)] },
    };
    if (access === "full" && settings) await addScriptAndVariables(view, catalog, help, ctx);
    return view;
  };
  const isView = (x: InstrumentView | FastifyReply): x is InstrumentView => "access" in x && "name" in x;

  const show = async (
    request: FastifyRequest,
    reply: FastifyReply,
    view: InstrumentView,
    extra: { editor?: EditorState; notice?: string | null; rerun?: Partial<RerunFields> } = {},
    status = 200,
  ) => {
    const frame = await ctx.frame(request);
    return ctx.page(
      reply,
      <InstrumentPage
        frame={frame}
        view={view}
        editor={extra.editor ?? null}
        notice={extra.notice ?? null}
        rerun={extra.rerun ?? {}}
      />,
      status,
    );
  };

  app.get("/instruments/:instrument", async (request, reply) => {
    const view = await load(request, reply);
    if (!isView(view)) return view;
    const q = Notice.safeParse(request.query);
    const notice = q.success ? noticeText(view.name, q.data) : null;
    const prefill = q.success && q.data.rerun ? safeRuns(q.data.rerun) : undefined;
    return show(request, reply, view, { notice, rerun: prefill ? { runs: prefill } : {} });
  });

  for (const action of ["pause", "resume"] as const) {
    app.post(`/instruments/:instrument/${action}`, async (request, reply) => {
      const params = Params.safeParse(request.params);
      if (!params.success) return ctx.notFound(request, reply, "no such instrument");
      const name = params.data.instrument;
      if (!canManageInstrument(request.viewer, name))
        return ctx.deny(request, reply, `pausing or resuming ${name}`);
      const settings = instrumentSettings(ctx.config, name);
      if (!settings) return ctx.notFound(request, reply, `no instrument ${name} in the configuration`);
      // An instrument without runs yet gets its row, so that it can be paused before its first run.
      await findOrCreateInstrument(ctx.database.db, name, settings.facility, Date.now());
      await setPaused(ctx.database, name, action === "pause");
      ctx.log.info({ instrument: name, by: request.viewer.name }, `web: instrument ${action}d`);
      return reply.redirect(`/instruments/${name}?notice=${action}d`, 303);
    });
  }

  app.post("/instruments/:instrument/variables", async (request, reply) => {
    const params = Params.safeParse(request.params);
    if (!params.success) return ctx.notFound(request, reply, "no such instrument");
    const name = params.data.instrument;
    if (!canManageInstrument(request.viewer, name))
      return ctx.deny(request, reply, `the variables of ${name}`);
    const view = await load(request, reply);
    if (!isView(view)) return view;
    if (!view.variables || !view.settings)
      return reply
        .code(422)
        .type("text/plain; charset=utf-8")
        .send(view.variablesProblem ?? `${name} has no variables`);
    const input = editorInput(request.body);
    const checked = checkEditor(input, view.variables, view.settings.experimentPattern, name);
    if (!checked.ok)
      return show(request, reply, view, { editor: { input, errors: checked.errors, formError: null } }, 422);
    try {
      const saved = await setVariables(deps, {
        instrument: name,
        fromRun: checked.fromRun,
        experiment: checked.experiment,
        values: checked.values,
        by: request.viewer.name ?? "unknown",
      });
      const affected = saved.affected.length;
      const runs = affected > 0 ? compactRuns(saved.affected) : "";
      const rerun = runs && runs.length <= 600 ? `&rerun=${encodeURIComponent(runs)}` : "";
      return reply.redirect(
        `/instruments/${name}?notice=set-saved&set=${saved.id}&affected=${affected}${rerun}#${affected > 0 ? "rerun" : "variables"}`,
        303,
      );
    } catch (e) {
      if (!(e instanceof RefusedError)) throw e;
      const editor = { input, errors: { fields: {}, variables: {} }, formError: e.message };
      return show(request, reply, view, { editor }, 422);
    }
  });

  app.post("/instruments/:instrument/variables/:id/delete", async (request, reply) => {
    const params = SetParams.safeParse(request.params);
    if (!params.success) return ctx.notFound(request, reply, "no such variable set");
    const { instrument: name, id } = params.data;
    if (!canManageInstrument(request.viewer, name))
      return ctx.deny(request, reply, `the variables of ${name}`);
    const set = (await variableSets(ctx.database, name)).find((s) => s.id === id && s.deleted_at === null);
    if (!set)
      return ctx.notFound(request, reply, `${name} has no variable set #${id} (or it was deleted already)`);
    if (set.scope === "default")
      return reply
        .code(422)
        .type("text/plain; charset=utf-8")
        .send("the script's defaults cannot be deleted: edit reduce_vars.py to change them");
    await deleteVariableSet(ctx.database, name, id, request.viewer.name);
    return reply.redirect(`/instruments/${name}?notice=set-deleted&set=${id}#variables`, 303);
  });

  /** The batch re-run's preview (GET: it changes nothing) and its confirmation (POST). */
  const rerun = async (request: FastifyRequest, reply: FastifyReply, dryRun: boolean) => {
    const params = Params.safeParse(request.params);
    if (!params.success) return ctx.notFound(request, reply, "no such instrument");
    const name = params.data.instrument;
    const v = request.viewer;
    if (!canManageInstrument(v, name)) return ctx.deny(request, reply, `batch re-runs of ${name}`);
    const parsed = RerunFields.safeParse(dryRun ? request.query : request.body);
    const fields: RerunFields = parsed.success
      ? parsed.data
      : { runs: "", script: "stored", description: "" };
    const role = rerunCapRole(v, name);
    const cap = ctx.config.rerun_caps[role];
    const frame = await ctx.frame(request);
    const answer = (status: number, result: { preview?: RerunPreview; error?: string }) =>
      ctx.page(
        reply,
        <RerunPage frame={frame} instrument={name} fields={fields} cap={{ role, runs: cap }} {...result} />,
        status,
      );
    if (!parsed.success)
      return answer(400, { error: "The form was not filled in as expected: reload the page and try again." });
    let preview: RerunPreview;
    try {
      const runs = parseRunRanges(fields.runs, { maxCount: cap });
      const description = fields.description.trim();
      preview = await requestRerun(
        deps,
        {
          instrument: name,
          run_numbers: runs,
          current_script: fields.script === "current",
          ...(description ? { description } : {}),
          role,
          started_by: v.name ?? "unknown",
        },
        dryRun,
      );
    } catch (e) {
      if (e instanceof RunRangeError || e instanceof OperationRefused)
        return answer(422, { error: e.message });
      throw e;
    }
    if (dryRun) return answer(200, { preview });
    if (preview.queue.length === 0)
      return answer(422, { preview, error: "Nothing was re-run: every run was left out." });
    ctx.log.info({ instrument: name, by: v.name, runs: preview.queue.length }, "web: batch re-run sent");
    return reply.redirect(
      `/instruments/${name}?notice=rerun-sent&queued=${preview.queue.length}&left=${preview.refused.length}`,
      303,
    );
  };
  app.get("/instruments/:instrument/rerun", (request, reply) => rerun(request, reply, true));
  app.post("/instruments/:instrument/rerun", (request, reply) => rerun(request, reply, false));
}

/** "full" for the instrument's readers, "member" for members of an experiment with runs on it, else null. */
async function accessOf(ctx: WebContext, v: Viewer, name: string): Promise<"full" | "member" | null> {
  if (canReadInstrument(v, name)) return "full";
  if (v.memberOf.size === 0) return null;
  return (await instrumentsOfExperiments(ctx.database, [...v.memberOf])).includes(name) ? "member" : null;
}

/** Adds the script, its variables and the variable sets to the full view. */
async function addScriptAndVariables(
  view: InstrumentView,
  catalog: ScriptCatalog,
  help: VariableHelp,
  ctx: WebContext,
): Promise<void> {
  const snapshot = await catalog.current(view.name);
  if (snapshot) {
    let mtime: number | null = null;
    try {
      mtime = statSync(snapshot.path).mtimeMs;
    } catch {
      mtime = null;
    }
    view.script = { ...snapshot, mtime };
  }
  const sets: VariableSetView[] = await variableSets(ctx.database, view.name);
  view.deletedSets = sets.filter((s) => s.deleted_at !== null && s.scope !== "default").length;
  view.overview = overviewOfSets(sets, view.last);
  if (!snapshot) {
    view.variablesProblem = `There is no script at ${catalog.expectedPath(view.name)}, so no variables either.`;
    return;
  }
  if (snapshot.varsError) {
    view.variablesProblem = `reduce_vars.py cannot be read: ${snapshot.varsError}`;
    return;
  }
  if (!snapshot.defaults) {
    view.variablesProblem = `The script has no reduce_vars.py beside it (${view.settings?.varsFile}): it takes no variables.`;
    return;
  }
  view.variables = scriptVariables(snapshot.defaults, await help.of(view.name));
  const next = effectiveVariables(snapshot.defaults, view.overview.nextSet);
  view.nextValues = Object.fromEntries(
    Object.entries({ ...next.standard_vars, ...next.advanced_vars }).map(([k, value]) => [
      k,
      formatValue(value),
    ]),
  );
}

/** The editor's fields from a posted form (anything missing is empty). */
function editorInput(body: unknown): EditorInput {
  const form = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const text = (value: unknown) =>
    typeof value === "string" ? value : Array.isArray(value) ? String(value.at(-1) ?? "") : "";
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(form))
    if (key.startsWith("var:")) values[key.slice(4)] = text(value);
  return {
    scope: text(form.scope),
    from_run: text(form.from_run),
    experiment: text(form.experiment),
    values,
  };
}

/** A run list from a URL, kept only when it reads as runs and ranges. */
function safeRuns(text: string): string | undefined {
  try {
    parseRunRanges(text);
    return text;
  } catch {
    return undefined;
  }
}

/** The notice a redirect asked for, in words (only these: the URL cannot put text on the page). */
function noticeText(name: string, q: z.infer<typeof Notice>): string | null {
  switch (q.notice) {
    case "paused":
      return `${name} is paused: new runs are recorded as skipped until you resume it (re-run them then).`;
    case "resumed":
      return `${name} is reducing new runs again.`;
    case "set-saved": {
      const affected = q.affected ?? 0;
      const runs = affected === 1 ? "1 existing run" : `${affected} existing runs`;
      return `Variable set #${q.set} saved.${affected > 0 ? ` ${runs} would now get these values; ${affected === 1 ? "it keeps its" : "they keep their"} results until re-run${q.rerun ? ": the batch re-run form below is filled in with them" : ""}.` : ""}`;
    }
    case "set-deleted":
      return `Variable set #${q.set} deleted (it stays in the history: autoreduce vars history ${name}).`;
    case "rerun-sent": {
      const left = q.left ?? 0;
      return `Re-run sent: ${q.queued ?? 0} run${q.queued === 1 ? "" : "s"} queued${left > 0 ? `, ${left} left out` : ""}. Their new versions appear below as they start.`;
    }
    default:
      return null;
  }
}

function StateLine({ view }: { view: InstrumentView }) {
  if (!view.settings)
    return <p class="state state-off">Not in the configuration: only its recorded runs are shown.</p>;
  if (view.paused)
    return (
      <p class="state state-paused">
        <strong>Paused</strong>: new runs are recorded as skipped, not reduced.
      </p>
    );
  if (view.access === "full" && !view.script)
    return (
      <p class="state state-off">
        <strong>No script</strong>: new runs are recorded as disabled until a script is in place.
      </p>
    );
  return (
    <p class="state state-on">
      <strong>Reducing new runs</strong> automatically.
    </p>
  );
}

function PauseControl({ frame, view }: { frame: PageFrame; view: InstrumentView }) {
  if (!view.manage || !view.settings) return null;
  const action = view.paused ? "resume" : "pause";
  return (
    <form method="post" action={`/instruments/${view.name}/${action}`} class="inline">
      <CsrfField frame={frame} />
      {view.paused ? (
        <button type="submit">Resume</button>
      ) : (
        <button
          type="submit"
          class="secondary"
          data-confirm={`Pause ${view.name}? New runs will be recorded as skipped until you resume it.`}
        >
          Pause
        </button>
      )}
    </form>
  );
}

export function InstrumentPage({
  frame,
  view,
  editor,
  notice,
  rerun,
}: {
  frame: PageFrame;
  view: InstrumentView;
  editor: EditorState | null;
  notice: string | null;
  rerun: Partial<RerunFields>;
}) {
  const queued = view.active.filter((r) => r.status !== "running");
  const running = view.active.filter((r) => r.status === "running");
  const mine = view.access === "member";
  return (
    <Layout frame={frame} title={view.name} live={`/api/v1/events?instrument=${view.name}`}>
      <div class="instrument-head">
        <h1>{view.name}</h1>
        <PauseControl frame={frame} view={view} />
      </div>
      <p class="subtitle">
        {view.facility}
        {view.settings ? ` · ${view.settings.convention === "isis" ? "ISIS" : "SNS"} script convention` : ""}
        {view.last ? (
          <>
            {" · last run "}
            <a href={runHref(view.name, view.last.run_number)}>{view.last.run_number}</a>
            {` (${formatAge(view.last.created_at)})`}
          </>
        ) : (
          " · no runs yet"
        )}
      </p>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <StateLine view={view} />
      {mine ? (
        <p class="muted">
          You see the runs of your experiments on {view.name} ({(view.experiments ?? []).join(", ")}). The
          script and its variables are shown to the instrument's scientists.
        </p>
      ) : null}

      <section aria-labelledby="queue">
        <h2 id="queue">Waiting ({queued.length >= 1000 ? "1000+" : queued.length})</h2>
        <VersionTable
          instrument={view.name}
          rows={queued.slice(0, QUEUE_SHOWN)}
          total={queued.length}
          caption={`Versions of ${view.name} waiting to run`}
          empty="Nothing is waiting: every recorded run has been handed to a worker."
          show={{ waited: true }}
        />
      </section>
      <section aria-labelledby="running">
        <h2 id="running">Running ({running.length})</h2>
        <VersionTable
          instrument={view.name}
          rows={running.slice(0, QUEUE_SHOWN)}
          total={running.length}
          caption={`Versions of ${view.name} running now`}
          empty="Nothing is running."
          show={{ ran: true }}
        />
      </section>
      <section aria-labelledby="failures">
        <h2 id="failures">Recent failures</h2>
        <p class="help">{`The latest ${FAILURES_SHOWN} failed versions among the newest ${RECENT_RUNS} runs, newest run first.`}</p>
        <VersionTable
          instrument={view.name}
          rows={view.failures}
          caption={`The last ${FAILURES_SHOWN} failed versions of ${view.name}`}
          empty={`No failed reduction among the newest ${RECENT_RUNS} runs.`}
          show={{ message: true }}
        />
      </section>

      {view.access === "full" ? (
        <>
          <DurationChart view={view} />
          <ScriptSection view={view} />
          <VariablesSection frame={frame} view={view} editor={editor} />
          {view.manage && view.settings ? (
            <RerunForm instrument={view.name} fields={rerun} cap={view.cap} />
          ) : null}
        </>
      ) : null}
    </Layout>
  );
}

function DurationChart({ view }: { view: InstrumentView }) {
  const points = [...view.durations].reverse();
  const seconds = points.map((p) => p.seconds).sort((a, b) => a - b);
  const median = seconds.length > 0 ? seconds[Math.floor((seconds.length - 1) / 2)] : null;
  const slowest = points.reduce<(typeof points)[number] | null>(
    (max, p) => (max === null || p.seconds > max.seconds ? p : max),
    null,
  );
  const figure: Figure = {
    data: [
      {
        type: "scatter",
        mode: "markers",
        name: "completed versions",
        x: points.map((p) => p.run_number),
        y: points.map((p) => p.seconds),
      },
    ],
    layout: {
      title: `Script run time, last ${points.length} completed version${points.length === 1 ? "" : "s"}`,
      xaxis: { title: "Run number" },
      yaxis: { title: "Run time (s)" },
    },
  };
  return (
    <section aria-labelledby="durations">
      <h2 id="durations">How long reductions take</h2>
      {points.length === 0 ? (
        <p class="muted">No completed reduction with a recorded run time yet.</p>
      ) : (
        <>
          <p>
            {`Median ${formatDuration(median)}; slowest ${formatDuration(slowest?.seconds)} (run `}
            <a href={runHref(view.name, slowest?.run_number ?? 0)}>{slowest?.run_number}</a>
            {`), over the last ${points.length} completed version${points.length === 1 ? "" : "s"}.`}
          </p>
          <div class="plot">
            <FigureSvg
              figure={figure}
              label={`Run time in seconds against run number for the last ${points.length} completed reductions of ${view.name}`}
            />
          </div>
        </>
      )}
    </section>
  );
}

function ScriptSection({ view }: { view: InstrumentView }) {
  const s = view.script;
  return (
    <section aria-labelledby="script">
      <h2 id="script">Current script</h2>
      {!s ? (
        <p class="muted">
          No script: new runs are recorded as disabled. Put the script at{" "}
          <code>
            {view.settings ? `${view.settings.scriptDir}/${view.settings.scriptFile}` : "(not configured)"}
          </code>
          .
        </p>
      ) : (
        <div class="card">
          <dl class="facts">
            <dt>File</dt>
            <dd>
              <code>{s.path}</code>
            </dd>
            <dt>SHA-256</dt>
            <dd>
              <code>{s.hash}</code>
            </dd>
            <dt>Last changed</dt>
            <dd>{s.mtime === null ? "—" : `${formatTime(s.mtime)} (${formatAge(s.mtime)})`}</dd>
            <dt>Run with</dt>
            <dd>
              <code>{s.interpreter}</code> (
              {s.convention === "isis"
                ? "ISIS: main(input_file, output_dir)"
                : "SNS: script input_file output_dir"}
              )
            </dd>
          </dl>
          <details>
            <summary>{`Script text (${s.text.split("\n").length} lines)`}</summary>
            <pre>{s.text}</pre>
          </details>
          <p class="help">
            A new run is reduced with this text. A re-run uses the text stored with the run's latest version
            unless "current script" is chosen.
          </p>
        </div>
      )}
    </section>
  );
}
