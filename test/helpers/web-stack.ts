import type { Updateable } from "kysely";
import type { ConfigInput } from "../../src/config/config-schema.ts";
import { type Logger, silentLogger } from "../../src/logging/logger.ts";
import type { JobStatus } from "../../src/messages/job-status.ts";
import { recordReadyRun } from "../../src/store/run-store.ts";
import type { JobsTable } from "../../src/store/schema.ts";
import { createToken } from "../../src/store/token-store.ts";
import { addMember, createUser, grantInstrument } from "../../src/store/user-store.ts";
import { hashPassword } from "../../src/web/auth/passwords.ts";
import type { LoginMethod } from "../../src/web/pages/login-page.tsx";
import { startWebServer, type WebServer } from "../../src/web/web-server.tsx";
import { openStack, type Stack } from "./in-process.ts";

/**
 * A web application on a scratch stack, with one person of every role, for page and API tests:
 * - `admin` (administrator), `mari` (scientist of MARI), `wish` (scientist of WISH),
 * - `member` (member of experiment IPTS-100, whose runs are on MARI), `outsider` (no role).
 * Every password is `${username}-password-1`. `token` is an admin API token.
 */
export const PEOPLE = ["admin", "mari", "wish", "member", "outsider"] as const;
export type Person = (typeof PEOPLE)[number];
export const MEMBER_EXPERIMENT = "IPTS-100";

export interface WebStack extends Stack {
  url: string;
  server: WebServer;
  /** An admin API token. */
  adminToken: string;
  /** A signed-in browser session of this person. */
  signIn(person: Person | string, password?: string): Promise<Session>;
  /** Records a run (and its first version, with this status). */
  seedRun(run: SeedRun): Promise<void>;
  /** Sets columns of one version of a recorded run (its outputs, logs, script text, variables…). */
  setVersion(instrument: string, run: number, version: number, fields: Updateable<JobsTable>): Promise<void>;
}

export interface SeedRun {
  instrument: string;
  run: number;
  experiment: string;
  status?: JobStatus;
  title?: string | null;
  dataFile?: string;
  message?: string;
  outputDir?: string;
}

/** A browser's cookies and CSRF token; `get`/`post` send them (post as a form, with `_csrf`). */
export interface Session {
  cookie: string;
  csrf: string;
  get(path: string, init?: RequestInit): Promise<Response>;
  /** A form post (application/x-www-form-urlencoded) carrying the CSRF token unless `csrf: false`. */
  post(path: string, form?: Record<string, string>, options?: { csrf?: boolean }): Promise<Response>;
  /** A JSON post with the CSRF header. */
  postJson(path: string, body: unknown): Promise<Response>;
}

export const passwordOf = (username: string) => `${username}-password-1`;

export async function openWebStack(
  config: ConfigInput = {},
  options: {
    databaseUrl?: string;
    loginMethods?: LoginMethod[];
    /** The web server's logger (default: silent), e.g. to read what it logs. */
    log?: Logger;
  } = {},
): Promise<WebStack> {
  const stack = await openStack(
    { instruments: { MARI: {}, WISH: {} }, ...config, web: { login_attempts: 1000, ...config.web } },
    options.databaseUrl,
  );
  const made = new Map<string, number>();
  for (const username of PEOPLE) {
    const user = await createUser(stack.database, {
      username,
      provider: "local",
      passwordHash: await hashPassword(passwordOf(username)),
      admin: username === "admin",
      displayName: `${username[0]?.toUpperCase()}${username.slice(1)} Person`,
    });
    made.set(username, user.id);
  }
  await grantInstrument(stack.database, made.get("mari") ?? 0, "MARI", "test");
  await grantInstrument(stack.database, made.get("wish") ?? 0, "WISH", "test");
  await addMember(stack.database, MEMBER_EXPERIMENT, "member", "catalog");
  const adminToken = (await createToken(stack.database, { name: "test-admin", role: "admin" })).token;
  const server = await startWebServer({
    ...stack,
    log: options.log ?? silentLogger(),
    host: "127.0.0.1",
    port: 0,
    loginMethods: options.loginMethods ?? [],
  });
  const url = server.url;
  let message = 0;
  return {
    ...stack,
    url,
    server,
    adminToken,
    signIn: (person, password) => signIn(url, person, password ?? passwordOf(person)),
    async seedRun(run) {
      await recordReadyRun(stack.database, {
        facility: "SNS",
        instrument: run.instrument,
        experiment: run.experiment,
        runNumber: run.run,
        dataFile:
          run.dataFile ?? `/archive/${run.instrument}/${run.experiment}/${run.instrument}_${run.run}.nxs.h5`,
        title: run.title ?? null,
        startTime: null,
        endTime: null,
        metadata: {},
        messageId: `seed-${++message}-${run.instrument}-${run.run}`,
        destination: "/queue/POSTPROCESS.DATA_READY",
        body: "{}",
        dedupeKey: null,
        reason: "automatic",
        startedBy: null,
        outputDir: () => run.outputDir ?? `/output/${run.instrument}/${run.experiment}/${run.run}`,
        initial: { status: run.status ?? "completed", message: run.message ?? "" },
      });
    },
    async setVersion(instrument, run, version, fields) {
      const row = await stack.database.db
        .selectFrom("jobs")
        .innerJoin("runs", "runs.id", "jobs.run_id")
        .innerJoin("instruments", "instruments.id", "runs.instrument_id")
        .select("jobs.id")
        .where("instruments.name", "=", instrument)
        .where("runs.run_number", "=", run)
        .where("jobs.version", "=", version)
        .executeTakeFirstOrThrow();
      await stack.database.db.updateTable("jobs").set(fields).where("id", "=", row.id).execute();
    },
    async close() {
      await server.close();
      await stack.close();
    },
  };
}

/** Cookies of a response as one `cookie` header value, merged with the ones given. */
function mergeCookies(previous: string, response: Response): string {
  const jar = new Map(
    previous
      .split("; ")
      .filter(Boolean)
      .map((c) => [c.slice(0, c.indexOf("=")), c.slice(c.indexOf("=") + 1)] as const),
  );
  for (const line of response.headers.getSetCookie()) {
    const [pair = ""] = line.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
}

/** Signs in through the real form (pre-session cookie, CSRF field, POST /login). */
export async function signIn(url: string, username: string, password: string): Promise<Session> {
  const form = await fetch(`${url}/login`);
  let cookie = mergeCookies("", form);
  const pre = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
  const response = await fetch(`${url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ username, password, _csrf: pre }).toString(),
  });
  if (response.status !== 303)
    throw new Error(`sign-in of ${username} failed: ${response.status} ${await response.text()}`);
  cookie = mergeCookies(cookie, response);
  const account = await fetch(`${url}/login`, { headers: { cookie }, redirect: "manual" });
  void account.body?.cancel();
  // The session's CSRF token is on every page of a signed-in person (meta csrf-token).
  const page = await fetch(`${url}/no-such-page-for-csrf`, { headers: { cookie } });
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  if (!csrf) throw new Error(`no CSRF token on the pages of ${username}`);
  return sessionOf(url, cookie, csrf);
}

/**
 * A browser that has not signed in: the pre-session cookie and its CSRF value from the sign-in
 * form, as a browser gets them by opening any page with that form.
 */
export async function anonymousSession(url: string): Promise<Session> {
  const form = await fetch(`${url}/login`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
  if (!csrf) throw new Error("no CSRF field on the sign-in form");
  return sessionOf(url, mergeCookies("", form), csrf);
}

function sessionOf(url: string, cookie: string, csrf: string): Session {
  return {
    cookie,
    csrf,
    get: (path, init) =>
      fetch(`${url}${path}`, { ...init, redirect: "manual", headers: { ...init?.headers, cookie } }),
    post: (path, form = {}, opts = {}) =>
      fetch(`${url}${path}`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie },
        body: new URLSearchParams(opts.csrf === false ? form : { ...form, _csrf: csrf }).toString(),
      }),
    postJson: (path, body) =>
      fetch(`${url}${path}`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf },
        body: JSON.stringify(body),
      }),
  };
}
