import type { FastifyReply, FastifyRequest } from "fastify";
import type { ComponentChildren } from "preact";
import { z } from "zod";
import { OperationRefused, requestRerun } from "../../coordinator/operations.ts";
import type { RerunPreview } from "../../coordinator/rerun-handler.ts";
import { InfrastructureError } from "../../failures/infrastructure-error.ts";
import { RefusedError } from "../../failures/refused-error.ts";
import type { JobStatus } from "../../messages/job-status.ts";
import { parseRunRangeBounds } from "../../scripts/run-ranges.ts";
import {
  BadCursorError,
  RUN_SORTS,
  type RunFilter,
  type RunIndexPage,
  type RunIndexRow,
  type RunSort,
  runIndexPage,
  runNumbersMatching,
  visibleInstruments,
} from "../../store/run-index.ts";
import { mayChangeRuns } from "../api-changes.ts";
import { canManageInstrument, rerunCapRole, runScope, type Viewer } from "../auth/viewer.ts";
import { formatDuration, formatTime } from "../views/format.ts";
import { CsrfField, Layout, MessagePage, type PageFrame, StatusBadge } from "../views/layout.tsx";
import type { WebContext, WebModule } from "../web-context.ts";

/** Every status, in the order a person looks for them. */
const STATUSES: readonly JobStatus[] = [
  "queued",
  "running",
  "retrying",
  "completed",
  "error",
  "cancelled",
  "skipped",
  "disabled",
];
const SORT_LABELS: Record<RunSort, string> = {
  newest: "Newest first",
  "run-asc": "Run number, ascending",
  "run-desc": "Run number, descending",
};
const ROLE_LABELS = { admin: "an administrator", staff: "an instrument scientist", user: "an experimenter" };

/** An empty form field is no filter. */
const blank = (v: unknown) => (v === "" ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blank, schema.optional());
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date like 2026-11-30");

/** The filters as typed (kept in the URL, so that a filtered list is a link to share). */
const FilterFields = z.object({
  instrument: optional(z.string().regex(/^[A-Za-z0-9_]{1,40}$/, "an instrument name (letters, digits, _)")),
  experiment: optional(z.string().trim().max(100, "at most 100 characters")),
  status: optional(z.enum(STATUSES, { message: `one of ${STATUSES.join(", ")}` })),
  from: optional(day),
  to: optional(day),
  title: optional(z.string().max(200, "at most 200 characters")),
  runs: optional(z.string().max(500, "at most 500 characters")),
  sort: optional(z.enum(RUN_SORTS, { message: "a sort order of the list" })),
});
type Fields = z.infer<typeof FilterFields>;
const FIELD_NAMES = Object.keys(FilterFields.shape) as Array<keyof Fields>;

const IndexQuery = FilterFields.extend({
  after: optional(z.string().max(200)),
  before: optional(z.string().max(200)),
  /** After a bulk re-run: how many runs were asked for, and left out (numbers only: the notice is ours). */
  rerun: optional(z.coerce.number().int().nonnegative()),
  refused: optional(z.coerce.number().int().nonnegative()),
});
const RerunForm = FilterFields.extend({
  description: optional(z.string().trim().max(500, "at most 500 characters")),
  current_script: optional(z.literal("on")),
  /** How many runs the preview showed: a selection that changed since is shown again. */
  expected: z.coerce.number().int().nonnegative(),
  _csrf: z.string().optional(),
});

type FieldErrors = Partial<Record<string, string>>;

/** The filters for the store, or the field errors a person must fix. */
function toFilter(fields: Fields): { filter: RunFilter; sort: RunSort } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  const dayStart = (text: string | undefined, field: string): number | undefined => {
    if (text === undefined) return undefined;
    const [y, m, d] = text.split("-").map(Number);
    const ms = Date.UTC(y ?? 0, (m ?? 1) - 1, d ?? 1);
    if (new Date(ms).toISOString().slice(0, 10) !== text) errors[field] = "not a date of the calendar";
    return ms;
  };
  const from = dayStart(fields.from, "from");
  const toDay = dayStart(fields.to, "to");
  let runs: Array<[number, number]> | undefined;
  if (fields.runs !== undefined) {
    try {
      runs = parseRunRangeBounds(fields.runs, 50);
    } catch (e) {
      if (!(e instanceof RefusedError)) throw e;
      errors.runs = `${e.message} (write 1200, 1200-1250 or 1200, 1210)`;
    }
  }
  if (from !== undefined && toDay !== undefined && toDay < from) errors.to = "before the From date";
  if (Object.keys(errors).length > 0) return { errors };
  return {
    sort: fields.sort ?? "newest",
    filter: {
      instrument: fields.instrument?.toUpperCase(),
      experiment: fields.experiment,
      status: fields.status,
      from,
      to: toDay === undefined ? undefined : toDay + 86_400_000, // the whole To day
      title: fields.title,
      runs,
    },
  };
}

/** The filters as a query string (the fields given, as typed). */
function filterQuery(fields: Fields, extra: Record<string, string | number> = {}): string {
  const params = new URLSearchParams();
  for (const name of FIELD_NAMES) {
    const value = fields[name];
    if (value !== undefined && !(name === "sort" && value === "newest")) params.set(name, String(value));
  }
  for (const [k, v] of Object.entries(extra)) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** The filter fields of a query that did not parse, as typed (shown again beside their errors). */
function typedAsGiven(query: unknown): Fields {
  const given = (query ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    FIELD_NAMES.filter((n) => typeof given[n] === "string" && given[n] !== "").map((n) => [n, given[n]]),
  ) as Fields;
}

const FIELD_LABELS: Record<string, string> = {
  instrument: "Instrument",
  experiment: "Experiment",
  status: "Status",
  from: "Recorded from",
  to: "Recorded to",
  title: "Title contains",
  runs: "Run numbers",
  sort: "Sort",
};

const describeIssues = (error: z.ZodError): FieldErrors =>
  Object.fromEntries(error.issues.map((i) => [String(i.path[0] ?? "form"), i.message]));

const hasFilters = (fields: Fields) => FIELD_NAMES.some((n) => n !== "sort" && fields[n] !== undefined);

/**
 * The runs index (`/`) and the bulk re-run of what it shows (`/rerun-preview`, `/rerun-selection`).
 * Everything is read through the viewer's scope (web/auth/viewer.ts): a run the viewer may not
 * see is never listed, counted or re-run.
 */
export const registerRunsIndex: WebModule = (app, ctx) => {
  app.get("/", async (request, reply) => {
    const v = request.viewer;
    if (v.kind === "anonymous" && v.anonymousRead.size === 0) return ctx.deny(request, reply, "runs");
    const frame = await ctx.frame(request);
    const scope = runScope(v);
    const instruments = await visibleInstruments(ctx.database, scope);
    const parsed = IndexQuery.safeParse(request.query);
    const raw = parsed.success ? parsed.data : typedAsGiven(request.query);
    const show = (status: number, body: Omit<IndexProps, "frame" | "fields" | "instruments">) =>
      ctx.page(reply, <RunsIndex frame={frame} fields={raw} instruments={instruments} {...body} />, status);
    if (!parsed.success) return show(400, { errors: describeIssues(parsed.error) });
    const query = parsed.data;
    const wanted = toFilter(query);
    if ("errors" in wanted) return show(400, { errors: wanted.errors });
    let page: RunIndexPage;
    try {
      page = await runIndexPage(ctx.database, scope, wanted.filter, wanted.sort, {
        after: query.after,
        before: query.before,
      });
    } catch (e) {
      if (e instanceof BadCursorError) return show(400, { errors: { form: e.message } });
      throw e;
    }
    const canSee = scope.all || scope.instruments.length > 0 || scope.experiments.length > 0;
    return show(200, {
      page,
      firstPage: query.after === undefined && query.before === undefined,
      nothingVisible: !canSee,
      rerun: query.rerun === undefined ? undefined : { asked: query.rerun, refused: query.refused ?? 0 },
      bulk: bulkRerun(v, query),
    });
  });

  app.get("/rerun-preview", async (request, reply) => {
    const parsed = FilterFields.safeParse(request.query);
    const frame = await ctx.frame(request);
    if (!parsed.success) return badSelection(ctx, reply, frame, describeIssues(parsed.error));
    return selection(ctx, request, reply, frame, parsed.data, async (s) =>
      ctx.page(reply, <RerunPreviewPage frame={frame} selection={s} fields={parsed.data} />),
    );
  });

  app.post("/rerun-selection", async (request, reply) => {
    const parsed = RerunForm.safeParse(request.body);
    const frame = await ctx.frame(request);
    if (!parsed.success) return badSelection(ctx, reply, frame, describeIssues(parsed.error));
    const { description, current_script, expected, _csrf, ...fields } = parsed.data;
    return selection(ctx, request, reply, frame, fields, async (s) => {
      if (s.numbers.length !== expected) {
        const changed = "The runs these filters select changed since you looked: check the list again.";
        return ctx.page(
          reply,
          <RerunPreviewPage frame={frame} selection={s} fields={fields} changed={changed} />,
          409,
        );
      }
      const preview = await requestRerun(
        operationDeps(ctx),
        {
          instrument: s.instrument,
          run_numbers: s.numbers,
          role: s.role,
          started_by: request.viewer.name ?? undefined,
          ...(description ? { description } : {}),
          ...(current_script ? { current_script: true } : {}),
        },
        false,
      );
      ctx.log.info(
        { by: request.viewer.name, instrument: s.instrument, queued: preview.queue.length },
        "web: bulk re-run requested",
      );
      const extra = { rerun: preview.queue.length, refused: preview.refused.length };
      return reply.redirect(`/${filterQuery(fields, extra)}`, 303);
    });
  });
};

const operationDeps = (ctx: WebContext) => ({
  config: ctx.config,
  database: ctx.database,
  transport: ctx.transport,
  log: ctx.log,
});

/** Who may re-run the runs a filter selects, and what to say to those who would need another filter. */
function bulkRerun(v: Viewer, fields: Fields): { allowed: true } | { allowed: false; hint: string } | null {
  if (v.kind === "anonymous") return null;
  const maySome = v.admin || v.scientistOf.size > 0 || v.memberOf.size > 0;
  if (!maySome) return null;
  if (fields.instrument === undefined)
    return { allowed: false, hint: "To re-run the runs shown, choose an instrument first." };
  if (mayRerunSelection(v, fields)) return { allowed: true };
  if (v.memberOf.size > 0)
    return { allowed: false, hint: "To re-run runs of your experiment, choose it under Experiment." };
  return null;
}

/** The instrument's scientists (and admins), or a member filtering by their own experiment. */
function mayRerunSelection(v: Viewer, fields: Fields): boolean {
  if (fields.instrument === undefined) return false;
  if (canManageInstrument(v, fields.instrument)) return true;
  const experiment = fields.experiment;
  return (
    v.kind !== "anonymous" &&
    experiment !== undefined &&
    (v.memberOf.has(experiment) || v.memberOf.has(experiment.toUpperCase()))
  );
}

/** The runs a bulk re-run would name, and within which cap. */
interface Selection {
  instrument: string;
  role: "admin" | "staff" | "user";
  cap: number;
  numbers: number[];
  preview: RerunPreview;
}

/**
 * Checks a bulk re-run of the filtered selection (permission, instrument, cap, each run's
 * experiment for a member), previews it, and hands it to `then`; answers every refusal itself
 * with a page that says what to do. Shared by the preview and the submit, so both decide alike.
 */
async function selection(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  frame: PageFrame,
  fields: Fields,
  then: (s: Selection) => Promise<FastifyReply>,
): Promise<FastifyReply> {
  const v = request.viewer;
  if (v.kind === "anonymous") return ctx.deny(request, reply, "re-runs");
  const wanted = toFilter(fields);
  if ("errors" in wanted) return badSelection(ctx, reply, frame, wanted.errors);
  const instrument = wanted.filter.instrument;
  if (instrument === undefined) {
    return refusal(ctx, reply, frame, 422, fields, [
      "A bulk re-run is for one instrument at a time: choose an instrument in the filters, then press “Re-run these runs…” again.",
    ]);
  }
  if (!mayRerunSelection(v, fields)) return ctx.deny(request, reply, `re-runs of ${instrument} runs`);
  const role = rerunCapRole(v, instrument);
  const cap = ctx.config.rerun_caps[role];
  const numbers = await runNumbersMatching(
    ctx.database,
    runScope(v),
    { ...wanted.filter, instrument },
    cap + 1,
  );
  if (numbers.length === 0)
    return refusal(ctx, reply, frame, 422, fields, [
      "No runs match these filters: there is nothing to re-run.",
    ]);
  if (numbers.length > cap) {
    return refusal(ctx, reply, frame, 422, fields, [
      `These filters select more than ${cap} runs of ${instrument}. As ${ROLE_LABELS[role]} you may re-run at most ${cap} runs at once.`,
      "Narrow the filters — a run range (1200-1250), a status (error) or dates — and try again.",
    ]);
  }
  if (!canManageInstrument(v, instrument) && !(await mayChangeRuns(ctx.database, v, instrument, numbers)))
    return ctx.deny(request, reply, `re-runs of ${instrument} runs outside your experiments`);
  try {
    const preview = await requestRerun(
      operationDeps(ctx),
      { instrument, run_numbers: numbers, role, started_by: v.name ?? undefined },
      true,
    );
    return await then({ instrument, role, cap, numbers, preview });
  } catch (e) {
    if (e instanceof OperationRefused) return refusal(ctx, reply, frame, 422, fields, [e.message]);
    if (e instanceof InfrastructureError) {
      reply.header("retry-after", "30");
      return refusal(ctx, reply, frame, 503, fields, [
        `The re-run could not be sent: ${e.message}. Nothing was re-run; try again in a minute.`,
      ]);
    }
    throw e;
  }
}

function badSelection(ctx: WebContext, reply: FastifyReply, frame: PageFrame, errors: FieldErrors) {
  const lines = Object.entries(errors).map(([field, message]) => `${field}: ${message}`);
  return refusal(ctx, reply, frame, 400, {}, ["These filters cannot be used:", ...lines]);
}

function refusal(
  ctx: WebContext,
  reply: FastifyReply,
  frame: PageFrame,
  status: number,
  fields: Fields,
  lines: string[],
) {
  return ctx.page(
    reply,
    <MessagePage frame={frame} title="Nothing re-run">
      {lines.map((line) => (
        <p key={line}>{line}</p>
      ))}
      <p>
        <a href={`/${filterQuery(fields)}`}>← Back to the runs</a>
      </p>
    </MessagePage>,
    status,
  );
}

interface IndexProps {
  frame: PageFrame;
  fields: Fields;
  instruments: string[];
  errors?: FieldErrors;
  page?: RunIndexPage;
  firstPage?: boolean;
  nothingVisible?: boolean;
  rerun?: { asked: number; refused: number } | undefined;
  bulk?: ReturnType<typeof bulkRerun>;
}

function RunsIndex(props: IndexProps) {
  const { frame, fields, errors = {} } = props;
  return (
    <Layout frame={frame} title="Runs" live="/api/v1/events" wide>
      <h1>Runs</h1>
      {props.rerun ? (
        <p class="notice" role="status">
          {`Re-run requested for ${props.rerun.asked} run${props.rerun.asked === 1 ? "" : "s"}`}
          {props.rerun.refused > 0 ? `; ${props.rerun.refused} left out (see the preview's reasons)` : ""}.
          New versions appear below as the coordinator creates them.
        </p>
      ) : null}
      <Filters fields={fields} instruments={props.instruments} errors={errors} />
      <Results {...props} />
      <script src="/static/runs-index.js" defer />
    </Layout>
  );
}

/** The filter form: a plain GET form (works without JavaScript); htmx swaps only the results. */
function Filters({
  fields,
  instruments,
  errors,
}: {
  fields: Fields;
  instruments: string[];
  errors: FieldErrors;
}) {
  const options =
    fields.instrument && !instruments.includes(fields.instrument.toUpperCase())
      ? [...instruments, fields.instrument.toUpperCase()]
      : instruments;
  return (
    <form
      method="get"
      action="/"
      class="filters runs-filters"
      aria-label="Filter runs"
      hx-get="/"
      hx-trigger="change, submit"
      hx-target="#runs-results"
      hx-select="#runs-results"
      hx-swap="outerHTML"
      hx-push-url="true"
    >
      <Field label="Instrument" name="instrument" errors={errors}>
        <select id="f-instrument" name="instrument">
          <option value="">All instruments</option>
          {options.map((name) => (
            <option key={name} value={name} selected={fields.instrument?.toUpperCase() === name}>
              {name}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Experiment" name="experiment" errors={errors}>
        <input
          id="f-experiment"
          name="experiment"
          value={fields.experiment ?? ""}
          placeholder="IPTS-1234"
          size={12}
        />
      </Field>
      <Field label="Status" name="status" errors={errors}>
        <select id="f-status" name="status">
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s} selected={fields.status === s}>
              {s}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Recorded from" name="from" errors={errors}>
        <input id="f-from" name="from" type="date" value={fields.from ?? ""} />
      </Field>
      <Field label="Recorded to" name="to" errors={errors}>
        <input id="f-to" name="to" type="date" value={fields.to ?? ""} />
      </Field>
      <Field label="Title contains" name="title" errors={errors}>
        <input id="f-title" name="title" type="search" value={fields.title ?? ""} size={16} />
      </Field>
      <Field label="Run numbers" name="runs" errors={errors}>
        <input id="f-runs" name="runs" value={fields.runs ?? ""} placeholder="1200-1250, 1300" size={14} />
      </Field>
      <Field label="Sort" name="sort" errors={errors}>
        <select id="f-sort" name="sort">
          {RUN_SORTS.map((s) => (
            <option key={s} value={s} selected={(fields.sort ?? "newest") === s}>
              {SORT_LABELS[s]}
            </option>
          ))}
        </select>
      </Field>
      <button type="submit">Show runs</button>
      {hasFilters(fields) ? <a href="/">Clear filters</a> : null}
    </form>
  );
}

function Field({
  label,
  name,
  errors,
  children,
}: {
  label: string;
  name: string;
  errors: FieldErrors;
  children: ComponentChildren;
}) {
  const error = errors[name];
  return (
    <label for={`f-${name}`}>
      {label}
      {children}
      {error ? <span class="field-error">{error}</span> : null}
    </label>
  );
}

/**
 * The table and its pager: the part htmx replaces. Its data attributes tell runs-index.js what
 * a new run must match to be counted in the "new runs" notice.
 */
function Results(props: IndexProps) {
  const { fields, page, bulk, errors = {} } = props;
  const problems = Object.entries(errors);
  const rows = page?.rows ?? [];
  const live = props.firstPage && (fields.sort ?? "newest") === "newest";
  return (
    <section
      id="runs-results"
      aria-label="Runs found"
      data-new-runs={live ? "1" : undefined}
      data-filter-instrument={fields.instrument?.toUpperCase()}
      data-filter-experiment={fields.experiment}
      data-filter-status={fields.status}
    >
      {problems.length > 0 ? (
        <div class="error" role="alert">
          <p>These filters cannot be used; correct them and press Show runs:</p>
          <ul>
            {problems.map(([field, message]) => (
              <li key={field}>{FIELD_LABELS[field] ? `${FIELD_LABELS[field]}: ${message}` : message}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <p class="notice new-runs" data-new-runs-notice hidden>
        <a href={`/${filterQuery(fields)}`}>new runs — show</a>
      </p>
      {bulk?.allowed ? (
        <p class="bulk-rerun">
          <a class="button secondary" href={`/rerun-preview${filterQuery(fields)}`}>
            Re-run these runs…
          </a>
          <span class="help"> Shows what would be re-run before anything is.</span>
        </p>
      ) : bulk ? (
        <p class="help">{bulk.hint}</p>
      ) : null}
      {page === undefined ? null : rows.length === 0 ? (
        <EmptyState
          fields={fields}
          nothingVisible={props.nothingVisible ?? false}
          firstPage={props.firstPage ?? true}
        />
      ) : (
        <RunsTable rows={rows} />
      )}
      {page ? <Pager page={page} fields={fields} /> : null}
    </section>
  );
}

function EmptyState({
  fields,
  nothingVisible,
  firstPage,
}: {
  fields: Fields;
  nothingVisible: boolean;
  firstPage: boolean;
}) {
  if (nothingVisible)
    return (
      <p class="card">
        You cannot see any runs yet. Runs of an experiment appear here once you are a member of it: ask your
        instrument scientist or the facility's user office to add you.
      </p>
    );
  if (!firstPage)
    return (
      <p class="card">
        No more runs this way. <a href={`/${filterQuery(fields)}`}>Back to the first page</a>.
      </p>
    );
  if (hasFilters(fields))
    return (
      <p class="card">
        No runs match these filters — <a href="/">clear filters</a>, or widen them (dates, status, run
        numbers).
      </p>
    );
  return <p class="card">No runs yet — runs appear here as soon as an instrument records one.</p>;
}

function RunsTable({ rows }: { rows: RunIndexRow[] }) {
  return (
    <table class="runs-table">
      <thead>
        <tr>
          <th scope="col">Instrument</th>
          <th scope="col" class="num">
            Run
          </th>
          <th scope="col">Experiment</th>
          <th scope="col">Title</th>
          <th scope="col">Status</th>
          <th scope="col" class="num">
            Version
          </th>
          <th scope="col">Started (UTC)</th>
          <th scope="col" class="num">
            Duration
          </th>
          <th scope="col">Host</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <RunRow key={`${r.instrument}/${r.run_number}`} row={r} />
        ))}
      </tbody>
    </table>
  );
}

function RunRow({ row: r }: { row: RunIndexRow }) {
  const run = `${r.instrument}/${r.run_number}`;
  const duration =
    r.started_at !== null && r.finished_at !== null
      ? formatDuration((r.finished_at - r.started_at) / 1000)
      : "—";
  return (
    <tr data-run={run} data-version={r.version === null ? undefined : String(r.version)}>
      <td>{r.instrument}</td>
      <td class="num">
        <a href={`/runs/${encodeURIComponent(r.instrument)}/${r.run_number}`}>{r.run_number}</a>
      </td>
      <td>
        <a href={`/experiments/${encodeURIComponent(r.experiment)}`}>{r.experiment}</a>
      </td>
      <td class="run-title">{r.title ?? ""}</td>
      <td>{r.status ? <StatusBadge status={r.status} /> : "—"}</td>
      <td class="num">{r.version ?? "—"}</td>
      <td class="nowrap">{r.started_at === null ? "—" : formatTime(r.started_at)}</td>
      <td class="num">{duration}</td>
      <td>{r.host ?? "—"}</td>
    </tr>
  );
}

function Pager({ page, fields }: { page: RunIndexPage; fields: Fields }) {
  if (!page.newer && !page.older) return null;
  const older = (fields.sort ?? "newest") === "newest" ? "Older runs →" : "Next runs →";
  const newer = (fields.sort ?? "newest") === "newest" ? "← Newer" : "← Previous";
  return (
    <nav class="pager" aria-label="Pages of runs">
      {page.newer ? <a href={`/${filterQuery(fields, { before: page.newer })}`}>{newer}</a> : null}
      {page.newer ? <a href={`/${filterQuery(fields)}`}>First page</a> : null}
      {page.older ? <a href={`/${filterQuery(fields, { after: page.older })}`}>{older}</a> : null}
    </nav>
  );
}

/** The filters given, in words: "Instrument MARI · Run numbers 1200-1250". */
function describeFilters(fields: Fields): string {
  return FIELD_NAMES.filter((n) => n !== "sort" && fields[n] !== undefined)
    .map((n) => `${FIELD_LABELS[n] ?? n} ${String(fields[n])}`)
    .join(" · ");
}

/** Run numbers as short ranges: 1200–1203, 1210. */
function runRanges(numbers: readonly number[]): string {
  const parts: string[] = [];
  let start = numbers[0];
  let end = start;
  for (const n of [...numbers.slice(1), Number.NaN]) {
    if (start === undefined || end === undefined) break;
    if (n === end + 1) {
      end = n;
      continue;
    }
    parts.push(start === end ? String(start) : `${start}–${end}`);
    start = n;
    end = n;
  }
  return parts.join(", ");
}

function RerunPreviewPage({
  frame,
  selection: s,
  fields,
  changed,
}: {
  frame: PageFrame;
  selection: Selection;
  fields: Fields;
  changed?: string;
}) {
  const { queue, refused } = s.preview;
  const title = `Re-run ${queue.length} run${queue.length === 1 ? "" : "s"} of ${s.instrument}?`;
  return (
    <Layout frame={frame} title={title}>
      <h1>{title}</h1>
      {changed ? (
        <p class="error" role="alert">
          {changed}
        </p>
      ) : null}
      <p class="help">{`Filters: ${describeFilters(fields)}`}</p>
      <p>
        {`These filters select ${s.numbers.length} run${s.numbers.length === 1 ? "" : "s"} of ${s.instrument}. `}
        {`As ${ROLE_LABELS[s.role]} you may re-run up to ${s.cap} at once. `}
        Each re-run is a new version of its run, with the variables of its latest version; earlier versions
        and their output stay as they are.
      </p>
      <h2>Will be re-run</h2>
      {queue.length > 0 ? (
        <p class="card mono rerun-runs">{runRanges(queue)}</p>
      ) : (
        <p class="card">None of these runs can be re-run now (reasons below).</p>
      )}
      {refused.length > 0 ? (
        <>
          <h2>Left out</h2>
          <table>
            <thead>
              <tr>
                <th scope="col" class="num">
                  Run
                </th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {refused.map((r) => (
                <tr key={r.run_number}>
                  <td class="num">{r.run_number}</td>
                  <td>{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {queue.length > 0 ? (
        <form method="post" action="/rerun-selection" class="stack rerun-confirm">
          <CsrfField frame={frame} />
          {FIELD_NAMES.map((name) =>
            fields[name] === undefined ? null : (
              <input key={name} type="hidden" name={name} value={String(fields[name])} />
            ),
          )}
          <input type="hidden" name="expected" value={String(s.numbers.length)} />
          <label for="rerun-description">Why (recorded with each new version)</label>
          <textarea id="rerun-description" name="description" rows={3} maxLength={500} />
          <label for="rerun-current-script" class="checkbox">
            <input id="rerun-current-script" type="checkbox" name="current_script" value="on" /> Run the
            instrument's current script (instead of the one each run last ran with)
          </label>
          <p>
            <button type="submit">{`Re-run ${queue.length} run${queue.length === 1 ? "" : "s"}`}</button>{" "}
            <a href={`/${filterQuery(fields)}`}>Cancel</a>
          </p>
        </form>
      ) : (
        <p>
          <a href={`/${filterQuery(fields)}`}>← Back to the runs</a>
        </p>
      )}
    </Layout>
  );
}
