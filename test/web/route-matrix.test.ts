import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { listRuns } from "../../src/store/run-views.ts";
import { createToken } from "../../src/store/token-store.ts";
import { type RegisteredRoute, registeredRoutes, routeOf } from "../helpers/web-routes.ts";
import { anonymousSession, openWebStack, passwordOf } from "../helpers/web-stack.ts";

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
 * admin, scientist:MARI, read. Runs: MARI 1 (IPTS-100), MARI 2 (IPTS-200), WISH 3 (IPTS-300).
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
  /** A concrete path (with a query if wanted); `{job}` is replaced by MARI run 1's job id. */
  path: string;
  /** A JSON body (API routes) or a form (`form`: pages); browsers add their CSRF token. */
  json?: unknown;
  form?: Record<string, string>;
  allow: readonly Caller[];
  /** Statuses that mean "served" (default [200]). */
  ok?: readonly number[];
  /** A new session for each caller (the route ends or changes it, e.g. sign out). */
  fresh?: boolean;
}

const EVERYONE = CALLERS;
const SIGNED_IN = CALLERS.filter((c) => c !== "anonymous");
/** Reads everything: administrators and read tokens. */
const READ_ALL: Caller[] = ["admin", "adminToken", "readToken"];
/** Change MARI: its scientists (people and tokens) and administrators. */
const MARI_MANAGERS: Caller[] = ["admin", "mari", "adminToken", "mariToken"];
const MARI_READERS: Caller[] = [...MARI_MANAGERS, "readToken"];

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
];

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
];

/** How a caller presents itself: a browser's cookie and CSRF token, or a bearer token. */
interface Credentials {
  cookie?: string;
  csrf?: string;
  token?: string;
}

/** A web stack with the matrix's runs, scripts and tokens, and each caller's credentials. */
async function openMatrixStack(config: Parameters<typeof openWebStack>[0] = {}) {
  const web = await openWebStack(config);
  for (const instrument of ["MARI", "WISH"]) {
    const dir = join(web.config.scripts.root, instrument);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `reduce_${instrument}.py`), "print('reduced')\n");
    writeFileSync(join(dir, "reduce_vars.py"), "standard_vars = {'bins': 100}\nadvanced_vars = {}\n");
  }
  await web.seedRun({ instrument: "MARI", run: 1, experiment: "IPTS-100" });
  await web.seedRun({ instrument: "MARI", run: 2, experiment: "IPTS-200" });
  await web.seedRun({ instrument: "WISH", run: 3, experiment: "IPTS-300" });
  const [run1] = await listRuns(web.database, { instrument: "MARI", runNumber: 1 });
  const tokens: Partial<Record<Caller, string>> = {
    adminToken: web.adminToken,
    mariToken: (await createToken(web.database, { name: "matrix-mari", role: "scientist:MARI" })).token,
    readToken: (await createToken(web.database, { name: "matrix-read", role: "read" })).token,
  };
  const credentials = async (caller: Caller): Promise<Credentials> => {
    const token = tokens[caller];
    if (token) return { token };
    const session = caller === "anonymous" ? await anonymousSession(web.url) : await web.signIn(caller);
    return { cookie: session.cookie, csrf: session.csrf };
  };
  const kept = new Map<Caller, Credentials>();
  for (const caller of CALLERS) kept.set(caller, await credentials(caller));
  return {
    web,
    jobId: run1?.job_id ?? "",
    /** The caller's credentials: the same session for every row, or a new one (`fresh`). */
    as: async (caller: Caller, fresh = false) => (fresh ? credentials(caller) : (kept.get(caller) ?? {})),
  };
}

/** Sends a row's request as a caller; resolves to the status (the body is not read: streams never end). */
async function send(url: string, row: Row, path: string, who: Credentials): Promise<number> {
  const headers: Record<string, string> = {};
  if (who.token) headers.authorization = `Bearer ${who.token}`;
  if (who.cookie) headers.cookie = who.cookie;
  let body: string | undefined;
  if (row.json !== undefined) {
    headers["content-type"] = "application/json";
    if (who.csrf) headers["x-csrf-token"] = who.csrf;
    body = JSON.stringify(row.json);
  } else if (row.form !== undefined) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(who.csrf ? { ...row.form, _csrf: who.csrf } : row.form).toString();
  }
  const response = await fetch(`${url}${path}`, { method: row.method, headers, body, redirect: "manual" });
  await response.body?.cancel();
  return response.status;
}

/** What each caller should get, and what each got: "served", or the refusal's status. */
async function runRow(stack: Awaited<ReturnType<typeof openMatrixStack>>, row: Row) {
  const path = row.path.replace("{job}", stack.jobId);
  const ok = row.ok ?? [200];
  const expected: Record<string, string | number> = {};
  const got: Record<string, string | number> = {};
  for (const caller of CALLERS) {
    expected[caller] = row.allow.includes(caller) ? "served" : caller === "anonymous" ? 401 : 403;
    const status = await send(stack.web.url, row, path, await stack.as(caller, row.fresh));
    got[caller] = row.allow.includes(caller) && ok.includes(status) ? "served" : status;
  }
  assert.deepEqual(got, expected, `${row.method} ${row.path}: served means ${ok.join(" or ")}`);
}

const label = (row: Row) =>
  `${row.method} ${row.path}${row.json !== undefined ? ` ${JSON.stringify(row.json)}` : ""}`;

describe("route × role matrix", () => {
  let stack: Awaited<ReturnType<typeof openMatrixStack>>;
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
      const route = routeOf(routes, row.method, row.path.replace("{job}", "x"));
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
  let stack: Awaited<ReturnType<typeof openMatrixStack>>;
  before(async () => {
    stack = await openMatrixStack({ web: { anonymous_read: ["WISH"] } });
  });
  after(() => stack?.web.close());

  for (const row of ANONYMOUS_READ_ROWS) test(label(row), () => runRow(stack, row));
});
