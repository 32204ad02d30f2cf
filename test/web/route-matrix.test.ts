import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { listRuns } from "../../src/store/run-views.ts";
import { createToken } from "../../src/store/token-store.ts";
import { createUser, findUser } from "../../src/store/user-store.ts";
import { type RegisteredRoute, registeredRoutes, routeOf } from "../helpers/web-routes.ts";
import { anonymousSession, openWebStack, PEOPLE, passwordOf } from "../helpers/web-stack.ts";

/**
 * Every route × every kind of caller: allowed, 403 or 401, as the permission model says.
 *
 * To add a route: add one row to ROWS (method, a concrete path, a body if it takes one, and
 * `allow`: the callers it serves). Every caller not in `allow` must be refused: 401 when
 * anonymous, 403 otherwise. `ok` lists the statuses that mean "served" (default 200): a 303 for
 * a form that redirects, a 422 when the operation itself refuses after the permission check.
 * A route registered without a row fails "every registered route has a row".
 *
 * The people and their roles (test/helpers/web-stack.ts): `admin`; `mari` and `wish`, scientists
 * of MARI and of WISH; `member` of experiment IPTS-100 (MARI run 1); `outsider`, no role. Tokens:
 * admin, scientist:MARI, read. Runs: MARI 1 (IPTS-100; an output folder with `reduced.txt` and
 * a log, and a plot), MARI 2 (IPTS-200), WISH 3 (IPTS-300; a plot).
 *
 * Paths and form values may name `{placeholders}`: the stack's (`{job}`, `{jobRow}`, `{plot}`,
 * `{wishPlot}`, `{queue}`, `{letter}`, `{memberToken}`: see openMatrixStack) or a row's `target`. A row whose
 * action destroys what it acts on (revoke, disable, discard, re-inject) has a `target` that makes
 * a new thing for each caller, so every caller meets the same situation and no later row is
 * changed. A row that ends sessions is `fresh` (and `endsSessions` when it ends the kept ones).
 *
 * Adding the runs index and the instrument and experiment pages: one row per route, e.g.
 *   { method: "GET", path: "/", allow: SIGNED_IN },
 *   { method: "GET", path: "/instruments/MARI", allow: MARI_READERS },
 *   { method: "GET", path: "/experiments/IPTS-100", allow: [...MARI_READERS, "member"] },
 * (with the `allow` the page's permission check gives), and for WISH in ANONYMOUS_READ_ROWS.
 */
const CALLERS = [
  "admin",
  "mari",
  "wish",
  "member",
  "outsider",
  "anonymous",
  "adminToken",
  "mariToken",
  "readToken",
] as const;
type Caller = (typeof CALLERS)[number];

interface Row {
  method: "GET" | "POST";
  /** A concrete path (with a query if wanted); `{name}` is replaced by a placeholder's value. */
  path: string;
  /** A JSON body (API routes) or a form (`form`: pages); browsers add their CSRF token. */
  json?: unknown;
  /** Form fields; `{name}` in a value is replaced by a placeholder's value. */
  form?: Record<string, string>;
  allow: readonly Caller[];
  /** Statuses that mean "served" (default [200]). */
  ok?: readonly number[];
  /** A new session for each caller (the route ends or changes it, e.g. sign out). */
  fresh?: boolean;
  /** The route ends every session of the caller: the kept sessions are made again after the row. */
  endsSessions?: boolean;
  /**
   * Makes what the request acts on, anew for each caller (a throwaway user, token or message),
   * and returns the values of the row's own placeholders.
   */
  target?: (stack: MatrixStack, caller: Caller) => Promise<Record<string, string>>;
  /**
   * The route signs people in from `username` and `password` form fields, not from the session
   * (SNS's plot upload form, which carries no CSRF token): each person sends their own name and
   * password and no cookie; anonymous sends neither; tokens are bearer tokens as everywhere.
   */
  signsInByForm?: boolean;
}

const EVERYONE = CALLERS;
const SIGNED_IN = CALLERS.filter((c) => c !== "anonymous");
/** Reads everything: administrators and read tokens. */
const READ_ALL: Caller[] = ["admin", "adminToken", "readToken"];
/** Change MARI: its scientists (people and tokens) and administrators. */
const MARI_MANAGERS: Caller[] = ["admin", "mari", "adminToken", "mariToken"];
const MARI_READERS: Caller[] = [...MARI_MANAGERS, "readToken"];
/** Read MARI run 1: MARI's readers and the members of its experiment (IPTS-100). */
const RUN1_READERS: Caller[] = [...MARI_READERS, "member"];
/** Re-run or cancel MARI run 1: MARI's managers and its experiment's members (not read tokens). */
const RUN1_CHANGERS: Caller[] = [...MARI_MANAGERS, "member"];
/** The admin page: administrators and admin tokens (not read tokens: they read runs, not the site). */
const ADMINS: Caller[] = ["admin", "adminToken"];
/** Their own account: signed-in people only (an API token cannot manage tokens or passwords). */
const PERSONS: Caller[] = [...PEOPLE];
const DLQ = "/queue/DLQ.REDUCTION.DATA_READY";
const WORK_QUEUE = "/queue/REDUCTION.DATA_READY";
const SERIES = { name: "I(Q)", series: [{ x: [0.1, 0.2, 0.3], y: [10, 20, 15] }] };

const ROWS: Row[] = [
  { method: "GET", path: "/healthz", allow: EVERYONE },
  { method: "GET", path: "/ready", allow: EVERYONE },
  { method: "GET", path: "/static/app.js", allow: EVERYONE },
  // Signed-in people are sent on to `next`.
  { method: "GET", path: "/login", allow: EVERYONE, ok: [200, 302] },
  {
    method: "POST",
    path: "/login",
    form: { username: "outsider", password: passwordOf("outsider"), next: "/" },
    allow: EVERYONE,
    ok: [303],
    // Signing in replaces the browser's session (the caller's own is ended).
    fresh: true,
  },
  { method: "POST", path: "/logout", form: {}, allow: EVERYONE, ok: [303], fresh: true },
  // Anyone signed in may listen; each event is then checked against the listener (security tests).
  { method: "GET", path: "/api/v1/events?instrument=MARI", allow: SIGNED_IN },
  {
    method: "GET",
    path: "/api/v1/runs",
    allow: ["admin", "mari", "wish", "member", "adminToken", "mariToken", "readToken"],
  },
  { method: "GET", path: "/api/v1/runs?instrument=MARI", allow: [...MARI_READERS, "member"] },
  { method: "GET", path: "/api/v1/runs/MARI/1", allow: [...MARI_READERS, "member"] },
  // Run 2 is MARI's too, but of another experiment than the member's.
  { method: "GET", path: "/api/v1/runs/MARI/2", allow: MARI_READERS },
  { method: "GET", path: "/api/v1/runs/WISH/3", allow: ["admin", "wish", "adminToken", "readToken"] },
  { method: "GET", path: "/api/v1/jobs", allow: READ_ALL },
  { method: "GET", path: "/api/v1/jobs/{job}", allow: READ_ALL },
  { method: "GET", path: "/api/v1/instruments/MARI/variables", allow: MARI_READERS },
  { method: "GET", path: "/api/v1/status", allow: READ_ALL },
  {
    method: "POST",
    path: "/api/v1/runs/MARI/rerun",
    json: { runs: "1", dry_run: true },
    allow: [...MARI_MANAGERS, "member"],
  },
  {
    method: "POST",
    path: "/api/v1/runs/MARI/rerun",
    json: { runs: "2", dry_run: true },
    allow: MARI_MANAGERS,
  },
  {
    method: "POST",
    path: "/api/v1/instruments/MARI/variables",
    json: { from_run: 11, values: { bins: "250" } },
    allow: MARI_MANAGERS,
  },
  // Run 1 has finished: past the permission check, the operation refuses (nothing to cancel).
  {
    method: "POST",
    path: "/api/v1/runs/MARI/1/cancel",
    json: {},
    allow: [...MARI_MANAGERS, "member"],
    ok: [422],
  },
  { method: "POST", path: "/api/v1/instruments/MARI/pause", json: {}, allow: MARI_MANAGERS },
  { method: "POST", path: "/api/v1/instruments/MARI/resume", json: {}, allow: MARI_MANAGERS },

  // The run page and everything under it (pages/run-*.tsx): read with the run, change with canChangeRun.
  { method: "GET", path: "/runs/MARI/1", allow: RUN1_READERS },
  { method: "GET", path: "/runs/MARI/1?version=0", allow: RUN1_READERS },
  { method: "GET", path: "/runs/MARI/2", allow: MARI_READERS },
  { method: "GET", path: "/runs/WISH/3", allow: ["admin", "wish", "adminToken", "readToken"] },
  { method: "GET", path: "/runs/MARI/1/fragment/versions", allow: RUN1_READERS },
  { method: "GET", path: "/runs/MARI/2/fragment/versions", allow: MARI_READERS },
  { method: "GET", path: "/runs/MARI/1/files/reduced.txt", allow: RUN1_READERS },
  { method: "GET", path: "/runs/MARI/1/files.zip", allow: RUN1_READERS },
  { method: "GET", path: "/runs/MARI/1/log?stream=out", allow: RUN1_READERS },
  { method: "GET", path: "/runs/MARI/1/log/stream?stream=out", allow: RUN1_READERS },
  { method: "GET", path: "/runs/MARI/2/log/stream?stream=out", allow: MARI_READERS },
  { method: "GET", path: "/runs/MARI/1/diff?a=0&b=0", allow: RUN1_READERS },
  { method: "GET", path: "/runs/MARI/2/diff", allow: MARI_READERS },
  // A read token reads the run but changes nothing: no re-run form.
  { method: "GET", path: "/runs/MARI/1/rerun", allow: RUN1_CHANGERS },
  { method: "GET", path: "/runs/MARI/2/rerun", allow: MARI_MANAGERS },
  // The preview step: the confirmation page, nothing queued.
  {
    method: "POST",
    path: "/runs/MARI/1/rerun",
    form: { version: "0", step: "preview", "var.bins": "250" },
    allow: RUN1_CHANGERS,
  },
  {
    method: "POST",
    path: "/runs/MARI/2/rerun",
    form: { version: "0", step: "preview" },
    allow: MARI_MANAGERS,
  },
  // Run 1 has finished: past the permission check, "Nothing cancelled" (422).
  { method: "POST", path: "/runs/MARI/1/cancel", form: {}, allow: RUN1_CHANGERS, ok: [422] },
  { method: "POST", path: "/runs/MARI/2/cancel", form: {}, allow: MARI_MANAGERS, ok: [422] },

  // Plots (plots/plot-routes.tsx): read with the run; publish as a scientist of the instrument.
  { method: "GET", path: "/api/v1/plots/MARI/1", allow: RUN1_READERS },
  { method: "GET", path: "/api/v1/plots/MARI/2", allow: MARI_READERS },
  { method: "GET", path: "/api/v1/plots/MARI/1/{plot}", allow: RUN1_READERS },
  { method: "GET", path: "/api/v1/plots/MARI/1/{plot}?format=svg", allow: RUN1_READERS },
  { method: "GET", path: "/api/v1/plots/MARI/1/{plot}?format=text", allow: RUN1_READERS },
  {
    method: "GET",
    path: "/api/v1/plots/WISH/3/{wishPlot}",
    allow: ["admin", "wish", "adminToken", "readToken"],
  },
  // An experimenter reads their run's plots but does not publish them.
  { method: "POST", path: "/api/v1/plots/MARI/1", json: SERIES, allow: MARI_MANAGERS, ok: [201] },
  { method: "GET", path: "/plots/MARI/1/update/json/", allow: RUN1_READERS },
  { method: "GET", path: "/plots/MARI/1/update/json", allow: RUN1_READERS },
  { method: "GET", path: "/plots/MARI/2/update/json/", allow: MARI_READERS, ok: [404] },
  // SNS's publish_plot form: user name and password in the form (or a bearer token), never the
  // session (a session alone is refused 401: plots.test.ts). A person who may not publish: 403.
  {
    method: "POST",
    path: "/plots/MARI/1/upload_plot_data/",
    form: { file: JSON.stringify(SERIES) },
    signsInByForm: true,
    allow: MARI_MANAGERS,
  },
  {
    method: "POST",
    path: "/plots/MARI/1/upload_plot_data",
    form: { file: JSON.stringify(SERIES), name: "sns" },
    signsInByForm: true,
    allow: MARI_MANAGERS,
  },

  // The admin page (pages/admin-*.tsx): administrators only, every section, fragment and action.
  { method: "GET", path: "/admin", allow: ADMINS },
  { method: "GET", path: "/admin/overview", allow: ADMINS },
  { method: "GET", path: "/admin/jobs", allow: ADMINS },
  { method: "GET", path: "/admin/jobs?hidden=1", allow: ADMINS },
  { method: "GET", path: "/admin/jobs/active", allow: ADMINS },
  {
    method: "POST",
    path: "/admin/jobs/failures",
    form: { action: "hide", job: "{jobRow}" },
    allow: ADMINS,
    ok: [303],
  },
  { method: "GET", path: "/admin/daemons", allow: ADMINS },
  { method: "GET", path: "/admin/daemons/table?all=1", allow: ADMINS },
  { method: "GET", path: "/admin/queues", allow: ADMINS },
  { method: "GET", path: "/admin/messages", allow: ADMINS },
  { method: "GET", path: "/admin/messages/message?queue={queue}&id={letter}", allow: ADMINS },
  { method: "GET", path: "/admin/messages/discard?queue={queue}&id={letter}", allow: ADMINS },
  // Without `confirm=yes`: the confirmation page again, nothing removed.
  {
    method: "POST",
    path: "/admin/messages/discard",
    form: { queue: "{queue}", id: "{letter}" },
    allow: ADMINS,
  },
  {
    method: "POST",
    path: "/admin/messages/discard",
    form: { queue: "{queue}", id: "{newLetter}", confirm: "yes" },
    target: newDeadLetter,
    allow: ADMINS,
    ok: [303],
  },
  {
    method: "POST",
    path: "/admin/messages/reinject",
    form: { queue: "{queue}", id: "{newLetter}" },
    target: newDeadLetter,
    allow: ADMINS,
    ok: [303],
  },
  { method: "GET", path: "/admin/people", allow: ADMINS },
  // Each caller makes its own account (the page shows its password once).
  {
    method: "POST",
    path: "/admin/people",
    form: { username: "{name}", display_name: "Made by the matrix" },
    target: async (stack) => ({ name: stack.unique("new-person") }),
    allow: ADMINS,
  },
  {
    method: "POST",
    path: "/admin/people/{user}/admin",
    form: { value: "1" },
    target: throwawayUser,
    allow: ADMINS,
    ok: [303],
  },
  {
    method: "POST",
    path: "/admin/people/{user}/disabled",
    form: { value: "1" },
    target: throwawayUser,
    allow: ADMINS,
    ok: [303],
  },
  {
    method: "POST",
    path: "/admin/people/{user}/instruments",
    form: { instrument: "MARI", action: "grant" },
    target: throwawayUser,
    allow: ADMINS,
    ok: [303],
  },
  { method: "GET", path: "/admin/tokens", allow: ADMINS },
  {
    method: "POST",
    path: "/admin/tokens",
    form: { name: "{name}", role: "read", expires_days: "1" },
    target: async (stack) => ({ name: stack.unique("admin-made") }),
    allow: ADMINS,
  },
  {
    method: "POST",
    path: "/admin/tokens/{token}/revoke",
    form: {},
    target: async (stack) => {
      const made = await createToken(stack.web.database, { name: stack.unique("spare"), role: "read" });
      return { token: String(made.record.id) };
    },
    allow: ADMINS,
    ok: [303],
  },
  { method: "GET", path: "/admin/site", allow: ADMINS },
  {
    method: "POST",
    path: "/admin/site/banner",
    form: { action: "save", banner: "Maintenance on Tuesday" },
    allow: ADMINS,
    ok: [303],
  },

  // Their own account (pages/account-page.tsx): every signed-in person, in a browser.
  { method: "GET", path: "/account", allow: PERSONS },
  {
    method: "POST",
    path: "/account/tokens",
    form: { name: "{name}", expires_days: "30" },
    target: async (stack) => ({ name: stack.unique("own") }),
    allow: PERSONS,
  },
  // Each person revokes a token of their own…
  {
    method: "POST",
    path: "/account/tokens/{token}/revoke",
    form: {},
    target: async (stack, caller) => {
      const owner = (PERSONS.includes(caller) ? caller : "member") as string;
      const made = await createToken(stack.web.database, {
        name: stack.unique("own-spare"),
        role: "user",
        userId: await stack.userId(owner),
      });
      return { token: String(made.record.id) };
    },
    allow: PERSONS,
    ok: [303],
  },
  // …and nobody else's: the member's token, revoked by the member only (admins included).
  { method: "POST", path: "/account/tokens/{memberToken}/revoke", form: {}, allow: ["member"], ok: [303] },
  {
    method: "POST",
    path: "/account/preferences",
    form: { email_runs: "failures" },
    allow: PERSONS,
    ok: [303],
  },
  // A wrong current password: refused after the permission check (422), nothing changed.
  {
    method: "POST",
    path: "/account/password",
    form: {
      current: "not-the-password",
      password: "a-new-password-long-enough",
      repeat: "a-new-password-long-enough",
    },
    allow: PERSONS,
    ok: [422],
  },
  {
    method: "POST",
    path: "/account/sign-out-everywhere",
    form: {},
    allow: PERSONS,
    ok: [303],
    fresh: true,
    endsSessions: true,
  },
  // The runs index, its bulk re-run, the instrument and experiment pages, the catalog API.
  { method: "GET", path: "/", allow: SIGNED_IN },
  { method: "GET", path: "/?instrument=MARI&status=completed", allow: SIGNED_IN },
  // Bulk re-run of a filtered selection: the instrument's managers, or a member for their experiment.
  {
    method: "GET",
    path: "/rerun-preview?instrument=MARI&experiment=IPTS-100",
    allow: [...MARI_MANAGERS, "member"],
  },
  { method: "GET", path: "/rerun-preview?instrument=MARI", allow: MARI_MANAGERS },
  // The selection changed since the preview (it said 999 runs): past the permission check, 409.
  {
    method: "POST",
    path: "/rerun-selection",
    form: { instrument: "MARI", experiment: "IPTS-100", expected: "999" },
    allow: [...MARI_MANAGERS, "member"],
    ok: [409],
  },
  { method: "GET", path: "/instruments", allow: SIGNED_IN },
  // A member sees a reduced view of the instrument of their experiment's runs.
  { method: "GET", path: "/instruments/MARI", allow: [...MARI_READERS, "member"] },
  { method: "GET", path: "/instruments/WISH", allow: ["admin", "wish", "adminToken", "readToken"] },
  { method: "POST", path: "/instruments/MARI/pause", form: {}, allow: MARI_MANAGERS, ok: [303] },
  { method: "POST", path: "/instruments/MARI/resume", form: {}, allow: MARI_MANAGERS, ok: [303] },
  // An empty editor form: past the permission check, refused field by field.
  { method: "POST", path: "/instruments/MARI/variables", form: {}, allow: MARI_MANAGERS, ok: [422] },
  {
    method: "POST",
    path: "/instruments/MARI/variables/999999/delete",
    form: {},
    allow: MARI_MANAGERS,
    ok: [404],
  },
  { method: "GET", path: "/instruments/MARI/rerun?runs=1", allow: MARI_MANAGERS },
  { method: "POST", path: "/instruments/MARI/rerun", form: { runs: "" }, allow: MARI_MANAGERS, ok: [422] },
  { method: "GET", path: "/experiments/IPTS-100", allow: [...MARI_READERS, "member"] },
  { method: "GET", path: "/experiments/IPTS-300", allow: ["admin", "wish", "adminToken", "readToken"] },
  {
    method: "GET",
    path: "/api/v1/experiments/IPTS-100/members",
    allow: ["admin", "mari", "member", "adminToken", "mariToken", "readToken"],
  },
  {
    method: "POST",
    path: "/api/v1/catalog/import",
    json: [{ experiment: "IPTS-777", members: ["someone"] }],
    allow: ["admin", "adminToken"],
  },
];

/** A row's `target`: a new dead letter in DLQ.REDUCTION.DATA_READY (`{newLetter}`). */
async function newDeadLetter(stack: MatrixStack): Promise<Record<string, string>> {
  return { newLetter: await stack.deadLetter(stack.unique("letter")) };
}

/** A row's `target`: a new person with no role (`{user}`: their id). */
async function throwawayUser(stack: MatrixStack): Promise<Record<string, string>> {
  const user = await createUser(stack.web.database, {
    username: stack.unique("throwaway"),
    provider: "local",
  });
  return { user: String(user.id) };
}

/**
 * Routes deliberately left out of the matrix, each with the reason (e.g. a provider's callback
 * that only works with the provider's state). Keep it short: a route here is not checked.
 */
const NOT_IN_MATRIX: Record<string, string> = {};

/** With WISH open to anonymous readers (`web.anonymous_read`): reading opens, changing does not. */
const ANONYMOUS_READ_ROWS: Row[] = [
  { method: "GET", path: "/api/v1/runs", allow: EVERYONE },
  { method: "GET", path: "/api/v1/runs?instrument=WISH", allow: EVERYONE },
  { method: "GET", path: "/api/v1/runs/WISH/3", allow: EVERYONE },
  { method: "GET", path: "/api/v1/instruments/WISH/variables", allow: EVERYONE },
  { method: "GET", path: "/api/v1/events?instrument=WISH", allow: EVERYONE },
  { method: "GET", path: "/api/v1/runs/MARI/1", allow: [...MARI_READERS, "member"] },
  {
    method: "POST",
    path: "/api/v1/runs/WISH/rerun",
    json: { runs: "3", dry_run: true },
    allow: ["admin", "wish", "adminToken"],
  },
  {
    method: "POST",
    path: "/api/v1/instruments/WISH/pause",
    json: {},
    allow: ["admin", "wish", "adminToken"],
  },
  { method: "GET", path: "/runs/WISH/3", allow: EVERYONE },
  { method: "GET", path: "/runs/WISH/3/fragment/versions", allow: EVERYONE },
  { method: "GET", path: "/runs/WISH/3/diff", allow: EVERYONE },
  { method: "GET", path: "/api/v1/plots/WISH/3", allow: EVERYONE },
  { method: "GET", path: "/api/v1/plots/WISH/3/{wishPlot}?format=svg", allow: EVERYONE },
  { method: "GET", path: "/plots/WISH/3/update/json/", allow: EVERYONE },
  // Reading is open; changing is not: the re-run form and cancel stay with WISH's scientists.
  { method: "GET", path: "/runs/WISH/3/rerun", allow: ["admin", "wish", "adminToken"] },
  {
    method: "POST",
    path: "/runs/WISH/3/cancel",
    form: {},
    allow: ["admin", "wish", "adminToken"],
    ok: [422],
  },
  {
    method: "POST",
    path: "/api/v1/plots/WISH/3",
    json: SERIES,
    allow: ["admin", "wish", "adminToken"],
    ok: [201],
  },
  { method: "GET", path: "/runs/MARI/1", allow: RUN1_READERS },
  { method: "GET", path: "/admin", allow: ADMINS },
  { method: "GET", path: "/?instrument=WISH", allow: EVERYONE },
  { method: "GET", path: "/instruments", allow: EVERYONE },
  { method: "GET", path: "/instruments/WISH", allow: EVERYONE },
  { method: "GET", path: "/experiments/IPTS-300", allow: EVERYONE },
  { method: "GET", path: "/instruments/MARI", allow: [...MARI_READERS, "member"] },
  {
    method: "POST",
    path: "/instruments/WISH/pause",
    form: {},
    allow: ["admin", "wish", "adminToken"],
    ok: [303],
  },
];

/** How a caller presents itself: a browser's cookie and CSRF token, or a bearer token. */
interface Credentials {
  cookie?: string;
  csrf?: string;
  token?: string;
}

type MatrixStack = Awaited<ReturnType<typeof openMatrixStack>>;

/**
 * A web stack with the matrix's runs, scripts, output files, plots, a dead letter and tokens, and
 * each caller's credentials.
 */
async function openMatrixStack(config: Parameters<typeof openWebStack>[0] = {}) {
  const web = await openWebStack(config);
  for (const instrument of ["MARI", "WISH"]) {
    const dir = join(web.config.scripts.root, instrument);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `reduce_${instrument}.py`), "print('reduced')\n");
    writeFileSync(join(dir, "reduce_vars.py"), "standard_vars = {'bins': 100}\nadvanced_vars = {}\n");
  }
  const output = join(web.config.output.root, "MARI", "IPTS-100", "1");
  await web.seedRun({ instrument: "MARI", run: 1, experiment: "IPTS-100", outputDir: output });
  await web.seedRun({ instrument: "MARI", run: 2, experiment: "IPTS-200" });
  await web.seedRun({ instrument: "WISH", run: 3, experiment: "IPTS-300" });
  // Run 1's files: a reduced file and a log, so that its downloads are served (200).
  mkdirSync(output, { recursive: true });
  writeFileSync(join(output, "reduced.txt"), "Q I\n0.1 10\n");
  writeFileSync(join(output, "reduction.log"), "reducing MARI 1\n");
  await web.setVersion("MARI", 1, 0, {
    output_files: JSON.stringify([join(output, "reduced.txt")]),
    log_file: join(output, "reduction.log"),
    variables: JSON.stringify({ standard_vars: { bins: 100 }, advanced_vars: {} }),
  });
  const [run1] = await listRuns(web.database, { instrument: "MARI", runNumber: 1 });
  const job = await web.database.db
    .selectFrom("jobs")
    .select("id")
    .where("job_id", "=", run1?.job_id ?? "")
    .executeTakeFirstOrThrow();
  const tokens: Partial<Record<Caller, string>> = {
    adminToken: web.adminToken,
    mariToken: (await createToken(web.database, { name: "matrix-mari", role: "scientist:MARI" })).token,
    readToken: (await createToken(web.database, { name: "matrix-read", role: "read" })).token,
  };
  const publish = async (path: string) => {
    const response = await fetch(`${web.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${web.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(SERIES),
    });
    assert.equal(response.status, 201, `a plot for the matrix: ${await response.clone().text()}`);
    return String(((await response.json()) as { id: number }).id);
  };
  let made = 0;
  const unique = (prefix: string) => `matrix-${prefix}-${++made}`;
  /** Puts a message into the dead-letter queue; returns its id. */
  const deadLetter = async (body: string) => {
    await web.transport.send(DLQ, { body, headers: { "x-original-destination": WORK_QUEUE } });
    const letter = (await web.transport.browse(DLQ, 1000)).find((m) => m.body === body);
    assert.ok(letter, "the dead letter is in its queue");
    return letter.id;
  };
  const userId = async (username: string) => (await findUser(web.database, username))?.id ?? 0;
  const memberToken = await createToken(web.database, {
    name: "matrix-member-own",
    role: "user",
    userId: await userId("member"),
  });
  const values: Record<string, string> = {
    job: run1?.job_id ?? "",
    jobRow: String(job.id),
    plot: await publish("/api/v1/plots/MARI/1"),
    wishPlot: await publish("/api/v1/plots/WISH/3"),
    queue: DLQ,
    letter: await deadLetter("a dead letter the matrix looks at"),
    memberToken: String(memberToken.record.id),
  };
  const credentials = async (caller: Caller): Promise<Credentials> => {
    const token = tokens[caller];
    if (token) return { token };
    const session = caller === "anonymous" ? await anonymousSession(web.url) : await web.signIn(caller);
    return { cookie: session.cookie, csrf: session.csrf };
  };
  const kept = new Map<Caller, Credentials>();
  const keepSessions = async () => {
    for (const caller of CALLERS) kept.set(caller, await credentials(caller));
  };
  await keepSessions();
  return {
    web,
    /** The values of the placeholders every row may use. */
    values,
    unique,
    deadLetter,
    userId,
    /** The caller's credentials: the same session for every row, or a new one (`fresh`). */
    as: async (caller: Caller, fresh = false) => (fresh ? credentials(caller) : (kept.get(caller) ?? {})),
    /** Makes the kept sessions again (after a row that ended them). */
    keepSessions,
  };
}

/** `text` with each `{name}` replaced by its value (`encode`: for a URL). */
function fill(text: string, values: Record<string, string>, encode: boolean): string {
  return text.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for the placeholder {${name}} in ${text}`);
    return encode ? encodeURIComponent(value) : value;
  });
}

/** Sends a request as a caller; resolves to the status (the body is not read: streams never end). */
async function send(
  url: string,
  request: { method: Row["method"]; path: string; json?: unknown; form?: Record<string, string> },
  who: Credentials,
): Promise<number> {
  const headers: Record<string, string> = {};
  if (who.token) headers.authorization = `Bearer ${who.token}`;
  if (who.cookie) headers.cookie = who.cookie;
  let body: string | undefined;
  if (request.json !== undefined) {
    headers["content-type"] = "application/json";
    if (who.csrf) headers["x-csrf-token"] = who.csrf;
    body = JSON.stringify(request.json);
  } else if (request.form !== undefined) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(who.csrf ? { ...request.form, _csrf: who.csrf } : request.form).toString();
  }
  const response = await fetch(`${url}${request.path}`, {
    method: request.method,
    headers,
    body,
    redirect: "manual",
  });
  await response.body?.cancel();
  return response.status;
}

/** A row's request as one caller sends it: placeholders filled, its credentials. */
async function requestOf(stack: MatrixStack, row: Row, caller: Caller) {
  const values = { ...stack.values, ...(row.target ? await row.target(stack, caller) : {}) };
  const path = fill(row.path, values, true);
  const form =
    row.form && Object.fromEntries(Object.entries(row.form).map(([k, v]) => [k, fill(v, values, false)]));
  if (!row.signsInByForm) return { request: { ...row, path, form }, who: await stack.as(caller, row.fresh) };
  if (caller === "anonymous") return { request: { ...row, path, form }, who: {} };
  const person = (PEOPLE as readonly string[]).includes(caller);
  return {
    request: {
      ...row,
      path,
      form: person ? { ...form, username: caller, password: passwordOf(caller) } : form,
    },
    who: person ? {} : await stack.as(caller),
  };
}

/** What each caller should get, and what each got: "served", or the refusal's status. */
async function runRow(stack: MatrixStack, row: Row) {
  const ok = row.ok ?? [200];
  const expected: Record<string, string | number> = {};
  const got: Record<string, string | number> = {};
  for (const caller of CALLERS) {
    expected[caller] = row.allow.includes(caller) ? "served" : caller === "anonymous" ? 401 : 403;
    const { request, who } = await requestOf(stack, row, caller);
    const status = await send(stack.web.url, request, who);
    got[caller] = row.allow.includes(caller) && ok.includes(status) ? "served" : status;
  }
  if (row.endsSessions) await stack.keepSessions();
  assert.deepEqual(got, expected, `${row.method} ${row.path}: served means ${ok.join(" or ")}`);
}

const label = (row: Row) =>
  `${row.method} ${row.path}${row.json !== undefined ? ` ${JSON.stringify(row.json)}` : ""}`;

describe("route × role matrix", () => {
  let stack: MatrixStack;
  let routes: RegisteredRoute[];
  before(async () => {
    stack = await openMatrixStack();
    routes = registeredRoutes(stack.web.server.app);
  });
  after(() => stack?.web.close());

  for (const row of ROWS) test(label(row), () => runRow(stack, row));

  test("every registered route has a row (or a reason in NOT_IN_MATRIX), every row a route", () => {
    const covered = new Set<string>();
    const unrouted: string[] = [];
    for (const row of ROWS) {
      const route = routeOf(routes, row.method, row.path.replace(/\{[A-Za-z]+\}/g, "x"));
      if (route) covered.add(`${route.method} ${route.url}`);
      else unrouted.push(label(row));
    }
    const missing = routes
      .map((r) => `${r.method} ${r.url}`)
      .filter((r) => !covered.has(r) && !(r in NOT_IN_MATRIX));
    assert.deepEqual(missing, [], "routes without a row in ROWS (test/web/route-matrix.test.ts)");
    assert.deepEqual(unrouted, [], "rows that match no registered route");
    assert.deepEqual(
      Object.keys(NOT_IN_MATRIX).filter((r) => !routes.some((x) => `${x.method} ${x.url}` === r)),
      [],
      "NOT_IN_MATRIX names routes that do not exist",
    );
  });
});

describe("route × role matrix, WISH open to anonymous readers", () => {
  let stack: MatrixStack;
  before(async () => {
    stack = await openMatrixStack({ web: { anonymous_read: ["WISH"] } });
  });
  after(() => stack?.web.close());

  for (const row of ANONYMOUS_READ_ROWS) test(label(row), () => runRow(stack, row));
});
