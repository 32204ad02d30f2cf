import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { silentLogger } from "../../src/logging/logger.ts";
import type { ChangeFacts } from "../../src/messages/change-event.ts";
import { ChangePublisher } from "../../src/service/change-publisher.ts";
import { createToken } from "../../src/store/token-store.ts";
import { addMember, createUser, findUser, grantInstrument, setDisabled } from "../../src/store/user-store.ts";
import { hashPassword } from "../../src/web/auth/passwords.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { fillPattern, type RegisteredRoute, registeredRoutes } from "../helpers/web-routes.ts";
import {
  anonymousSession,
  openWebStack,
  passwordOf,
  type Session,
  signIn,
  type WebStack,
} from "../helpers/web-stack.ts";

/** Runs with numbers found nowhere else in a page, so a page can be compared with the run's number taken out. */
const RUN_OF_MEMBER = 31415; // MARI, IPTS-100 (the member's experiment)
const RUN_OF_OTHERS = 27182; // MARI, IPTS-200
const NO_SUCH_RUN = 99991;

/** An example value for each route parameter (a new parameter name needs one here). */
const PARAMS: Record<string, string> = {
  instrument: "MARI",
  run: String(RUN_OF_MEMBER),
  name: "app.css",
  job_id: "no-such-job",
  experiment: "IPTS-100",
  // A person, token or plot id: one that does not exist (an admin's post must not act on itself).
  id: "999999",
  // A file of a run's output folder.
  "*": "reduced.nxs",
};

/**
 * State-changing routes that take no CSRF token because they authenticate every request
 * themselves from its form fields (route config `csrf: false`), each with why. Each must still
 * refuse a post without credentials (checked below).
 */
const CSRF_EXEMPT: Record<string, string> = {
  "/plots/:instrument/:run/upload_plot_data/":
    "SNS publish_plot's form: user name and password fields (or a bearer token) on every post, never the session cookie",
  "/plots/:instrument/:run/upload_plot_data": "the same form without its final slash",
};

const CSRF_REFUSAL = /security token is missing or wrong/;
const isChange = (r: RegisteredRoute) => !["GET", "HEAD", "OPTIONS"].includes(r.method);

/** Log lines as written (JSON), to check what never appears in them. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { log: pino({ level: "trace" }, stream), lines };
}

/** Reads a server-sent event stream into `text` until cancelled. */
async function listen(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { headers });
  assert.equal(response.status, 200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const stream = { text: "", cancel: () => reader.cancel() };
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      stream.text += decoder.decode(value, { stream: true });
    }
  })();
  return stream;
}

describe("web security", () => {
  let web: WebStack;
  let routes: RegisteredRoute[];
  const logged = capturingLogger();
  const headersOf = (session: Session) => ({ cookie: session.cookie });

  before(async () => {
    web = await openWebStack({ web: { anonymous_read: ["WISH"] } }, { log: logged.log });
    await web.seedRun({ instrument: "MARI", run: RUN_OF_MEMBER, experiment: "IPTS-100" });
    await web.seedRun({ instrument: "MARI", run: RUN_OF_OTHERS, experiment: "IPTS-200" });
    await web.seedRun({ instrument: "WISH", run: 5, experiment: "IPTS-500" });
    routes = registeredRoutes(web.server.app);
  });
  after(() => web?.close());

  test("every state-changing route refuses a browser's post without its CSRF token (form field or header)", async () => {
    const changing = routes.filter((r) => isChange(r) && !(r.url in CSRF_EXEMPT));
    assert.ok(
      changing.some((r) => r.url === "/logout"),
      "the sign-out form is among them",
    );
    const refusedAs = async (what: string, response: Response) => {
      const body = await response.text();
      return response.status === 403 && CSRF_REFUSAL.test(body)
        ? null
        : `${what}: ${response.status} ${body}`;
    };
    const wrong: string[] = [];
    for (const route of changing) {
      const path = fillPattern(route.url, PARAMS);
      const admin = await web.signIn("admin");
      const other = await web.signIn("outsider");
      const bare = { "content-type": "application/json", cookie: admin.cookie };
      const attempts: Array<[string, Promise<Response>]> = [
        ["form without _csrf", admin.post(path, {}, { csrf: false })],
        ["form with another session's token", admin.post(path, { _csrf: other.csrf }, { csrf: false })],
        [
          "JSON without X-CSRF-Token",
          fetch(`${web.url}${path}`, { method: "POST", headers: bare, body: "{}" }),
        ],
        [
          "JSON with another session's X-CSRF-Token",
          fetch(`${web.url}${path}`, {
            method: "POST",
            headers: { ...bare, "x-csrf-token": other.csrf },
            body: "{}",
          }),
        ],
      ];
      for (const [what, response] of attempts) {
        const problem = await refusedAs(`${route.method} ${path} ${what}`, await response);
        if (problem) wrong.push(problem);
      }
      // Before sign-in the pre-session value guards the page forms (login CSRF); API calls without a
      // session carry no ambient credentials and are the route's to answer (401).
      if (!path.startsWith("/api/")) {
        const anonymous = await anonymousSession(web.url);
        const problem = await refusedAs(
          `${route.method} ${path} anonymous form without _csrf`,
          await anonymous.post(path, {}, { csrf: false }),
        );
        if (problem) wrong.push(problem);
      }
    }
    assert.deepEqual(wrong, []);
  });

  test("with the session's token (form field or header) the same posts pass the CSRF check", async () => {
    const wrong: string[] = [];
    for (const route of routes.filter((r) => isChange(r) && !(r.url in CSRF_EXEMPT))) {
      const path = fillPattern(route.url, PARAMS);
      // A new session each time: some of these posts sign out.
      for (const [what, send] of [
        ["form", (s: Session) => s.post(path, {})],
        ["JSON", (s: Session) => s.postJson(path, {})],
      ] as const) {
        const response = await send(await web.signIn("admin"));
        const body = await response.text();
        if (CSRF_REFUSAL.test(body) || response.status === 403)
          wrong.push(`${route.method} ${path} ${what}: ${response.status} ${body}`);
      }
    }
    assert.deepEqual(wrong, []);
    const anonymous = await anonymousSession(web.url);
    const login = await anonymous.post("/login", { username: "admin", password: passwordOf("admin") });
    assert.equal(login.status, 303, "the sign-in form with its pre-session token");
  });

  test("routes exempt from CSRF refuse a post without credentials, and take no session cookie as one", async () => {
    const admin = await web.signIn("admin");
    for (const url of Object.keys(CSRF_EXEMPT)) {
      const response = await fetch(`${web.url}${fillPattern(url, PARAMS)}`, { method: "POST" });
      assert.ok([400, 401].includes(response.status), `${url}: ${response.status}`);
      // A form another site makes the browser post carries the cookie: it must count for nothing.
      const withCookie = await admin.post(fillPattern(url, PARAMS), { file: "{}" }, { csrf: false });
      assert.equal(withCookie.status, 401, `${url} with an administrator's session cookie only`);
    }
    assert.deepEqual(
      Object.keys(CSRF_EXEMPT).filter((url) => !routes.some((r) => r.url === url)),
      [],
      "CSRF_EXEMPT names routes that do not exist",
    );
  });

  test("signing in makes a new session id: a planted or earlier one is not carried over", async () => {
    const planted = "planted-by-someone-else-0123456789";
    const form = await fetch(`${web.url}/login`);
    const pre = form.headers.getSetCookie()[0]?.split(";")[0] ?? "";
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
    const response = await fetch(`${web.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: `${pre}; ar_session=${planted}`,
      },
      body: new URLSearchParams({ username: "mari", password: passwordOf("mari"), _csrf: csrf }).toString(),
    });
    assert.equal(response.status, 303);
    const issued = /^ar_session=([^;]+)/.exec(
      response.headers.getSetCookie().find((c) => c.startsWith("ar_session=")) ?? "",
    )?.[1];
    assert.ok(issued && issued !== planted, "a session id of the server's own making");
    const asPlanted = await fetch(`${web.url}/api/v1/runs/MARI/${RUN_OF_MEMBER}`, {
      headers: { cookie: `ar_session=${planted}` },
    });
    assert.equal(asPlanted.status, 401, "the planted id signs nobody in");

    const first = await web.signIn("member");
    const second = await signIn(web.url, "member", passwordOf("member"));
    assert.notEqual(first.cookie, second.cookie, "each sign-in its own session");
    assert.notEqual(first.csrf, second.csrf, "and its own CSRF token");
  });

  test("a disabled person's session and personal tokens stop working, and they cannot sign in", async () => {
    const user = await createUser(web.database, {
      username: "leaver",
      provider: "local",
      passwordHash: await hashPassword(passwordOf("leaver")),
      admin: false,
      displayName: "Leaving Person",
    });
    await grantInstrument(web.database, user.id, "MARI", "test");
    await addMember(web.database, "IPTS-200", "leaver", "catalog");
    const session = await web.signIn("leaver");
    const token = (await createToken(web.database, { name: "leaver-own", role: "user", userId: user.id }))
      .token;
    const path = `/api/v1/runs/MARI/${RUN_OF_OTHERS}`;
    const withToken = () => fetch(`${web.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await session.get(path)).status, 200);
    assert.equal((await withToken()).status, 200);

    await setDisabled(web.database, user.id, true);
    assert.equal((await session.get(path)).status, 401, "the session ended");
    assert.equal((await withToken()).status, 401, "the personal token acts for nobody");
    await assert.rejects(web.signIn("leaver"), /sign-in of leaver failed: 401/);
    assert.ok(await findUser(web.database, "leaver"), "the account is kept (disabled, not deleted)");
  });

  test("a plot is read through its own run only: another run's plot id is not found", async () => {
    const publish = async (instrument: string, run: number) => {
      const response = await fetch(`${web.url}/api/v1/plots/${instrument}/${run}`, {
        method: "POST",
        headers: { authorization: `Bearer ${web.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "hidden", series: [{ x: [1, 2], y: [3, 4] }] }),
      });
      assert.equal(response.status, 201);
      return ((await response.json()) as { id: number }).id;
    };
    const others = await publish("MARI", RUN_OF_OTHERS);
    const mine = await publish("MARI", RUN_OF_MEMBER);
    const member = await web.signIn("member");
    for (const format of ["", "?format=svg", "?format=text"]) {
      assert.equal((await member.get(`/api/v1/plots/MARI/${RUN_OF_MEMBER}/${mine}${format}`)).status, 200);
      const crossed = await member.get(`/api/v1/plots/MARI/${RUN_OF_MEMBER}/${others}${format}`);
      assert.equal(crossed.status, 404, `another run's plot through the member's run${format}`);
      assert.doesNotMatch(await crossed.text(), /hidden/);
    }
  });

  test("a run file path with `..` is refused as sent, before any file is looked at", async () => {
    // fetch and browsers resolve `..` before sending; a hand-made request does not.
    const raw = (path: string, cookie: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL(web.url);
        const req = httpRequest(
          { host: url.hostname, port: url.port, path, headers: { cookie } },
          (response) => {
            let body = "";
            response.on("data", (chunk: Buffer) => {
              body += chunk.toString("utf8");
            });
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end();
      });
    const admin = await web.signIn("admin");
    for (const path of [
      `/runs/MARI/${RUN_OF_MEMBER}/files/../../../../../etc/passwd`,
      `/runs/MARI/${RUN_OF_MEMBER}/files/a/../../b.txt`,
      `/runs/MARI/${RUN_OF_MEMBER}/files/%2e%2e/%2e%2e/etc/passwd`,
      `/runs/MARI/${RUN_OF_MEMBER}/files/..%5c..%5cetc%5cpasswd`,
    ]) {
      const answer = await raw(path, admin.cookie);
      assert.equal(answer.status, 400, path);
      assert.match(answer.body, /Not a file name this page serves/, path);
      assert.doesNotMatch(answer.body, /root:/, path);
    }
  });

  test("revoking another person's token from /account is refused without telling its name", async () => {
    const member = await findUser(web.database, "member");
    const { record } = await createToken(web.database, {
      name: "member-laptop-secret-project",
      role: "user",
      userId: member?.id ?? null,
    });
    for (const person of ["outsider", "admin"]) {
      const refused = await (await web.signIn(person)).post(`/account/tokens/${record.id}/revoke`);
      assert.equal(refused.status, 403, person);
      const page = await refused.text();
      assert.match(page, /not yours/);
      assert.doesNotMatch(page, /member-laptop|secret-project/, `${person} is not told the token's name`);
    }
  });

  test("passwords, tokens, session ids and CSRF tokens never reach the logs", async () => {
    const from = logged.lines.length;
    const session = await web.signIn("admin");
    await assert.rejects(web.signIn("admin", "wrong-secret-password-77"), /401/);
    const unknown = "ar_unknown-token-that-nobody-ever-made-1234567890";
    const used = [
      await fetch(`${web.url}/api/v1/jobs`, { headers: { authorization: `Bearer ${web.adminToken}` } }),
      await fetch(`${web.url}/api/v1/jobs`, { headers: { authorization: `Bearer ${unknown}` } }),
      // Never read from a URL (it would end up in proxies' logs), nor logged from one.
      await fetch(`${web.url}/api/v1/jobs?token=${web.adminToken}`),
      await session.get("/api/v1/jobs"),
    ].map((r) => r.status);
    assert.deepEqual(used, [200, 401, 401, 200]);
    const lines = logged.lines.slice(from);
    assert.ok(
      lines.some((l) => l.includes('"msg":"web: signed in"')),
      "the sign-in was logged",
    );
    assert.ok(
      lines.some((l) => l.includes('"msg":"web: sign-in refused"')),
      "the refusal was logged",
    );
    assert.ok(
      lines.some((l) => l.includes("refused a token")),
      "the unknown token was logged",
    );
    const sessionId = /ar_session=([^;]+)/.exec(session.cookie)?.[1] ?? "";
    const secrets = {
      password: passwordOf("admin"),
      "wrong password": "wrong-secret-password-77",
      "admin token": web.adminToken,
      "unknown token": unknown,
      "session id": sessionId,
      "CSRF token": session.csrf,
    };
    for (const [what, secret] of Object.entries(secrets)) {
      assert.ok(secret.length >= 16, `${what} is a real secret`);
      assert.deepEqual(
        lines.filter((l) => l.includes(secret)),
        [],
        `the ${what} is in a log line`,
      );
    }
  });

  test("cookies: HttpOnly, SameSite=Lax, whole site; the session's ends at sign-out", async () => {
    const form = await fetch(`${web.url}/login`);
    const pre = form.headers.getSetCookie().find((c) => c.startsWith("ar_presession=")) ?? "";
    assert.match(pre, /; Path=\/(;|$)/);
    assert.match(pre, /; HttpOnly/);
    assert.match(pre, /; SameSite=Lax/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
    const login = await fetch(`${web.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: pre.split(";")[0] ?? "" },
      body: new URLSearchParams({ username: "wish", password: passwordOf("wish"), _csrf: csrf }).toString(),
    });
    const set = login.headers.getSetCookie().find((c) => c.startsWith("ar_session=")) ?? "";
    assert.match(set, /; Max-Age=43200(;|$)/, "12 hours (web.session_hours)");
    assert.match(set, /; Path=\/(;|$)/);
    assert.match(set, /; HttpOnly/);
    assert.match(set, /; SameSite=Lax/);
    assert.doesNotMatch(set, /; Secure/, "plain http here: a Secure cookie would never come back");
    const session = `${pre.split(";")[0]}; ${set.split(";")[0]}`;
    const page = await fetch(`${web.url}/nowhere`, { headers: { cookie: session } });
    const sessionCsrf = /name="csrf-token" content="([^"]+)"/.exec(await page.text())?.[1] ?? "";
    const logout = await fetch(`${web.url}/logout`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: session },
      body: new URLSearchParams({ _csrf: sessionCsrf }).toString(),
    });
    assert.equal(logout.status, 303);
    const cleared = logout.headers.getSetCookie().find((c) => c.startsWith("ar_session=")) ?? "";
    assert.match(cleared, /^ar_session=;/);
    assert.match(cleared, /Expires=Thu, 01 Jan 1970/);
    const after = await fetch(`${web.url}/api/v1/runs/MARI/${RUN_OF_MEMBER}`, {
      headers: { cookie: session },
    });
    assert.equal(after.status, 401, "the session is gone on the server too, not just the cookie");
  });

  test("behind https (public_url), cookies are Secure and HSTS is sent", async () => {
    const secure = await openWebStack({ web: { public_url: "https://autoreduce.example.org" } });
    try {
      const form = await fetch(`${secure.url}/login`);
      assert.match(form.headers.getSetCookie()[0] ?? "", /; Secure/);
      assert.match(form.headers.get("strict-transport-security") ?? "", /max-age=\d+/);
      const set: string[] = [];
      const pre = form.headers.getSetCookie()[0]?.split(";")[0] ?? "";
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
      const login = await fetch(`${secure.url}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: pre },
        body: new URLSearchParams({
          username: "admin",
          password: passwordOf("admin"),
          _csrf: csrf,
        }).toString(),
      });
      set.push(...login.headers.getSetCookie());
      assert.match(set.find((c) => c.startsWith("ar_session=")) ?? "", /; Secure/);
    } finally {
      await secure.close();
    }
    assert.equal(
      (await fetch(`${web.url}/login`)).headers.get("strict-transport-security"),
      null,
      "not on http",
    );
  });

  test("`next` after sign-in never leads to another site", async () => {
    const evil = [
      "//evil.example/x",
      "///evil.example/x",
      "https://evil.example/x",
      "http:evil.example",
      "/\\evil.example",
      "\\\\evil.example",
      "/\t/evil.example",
      "/\n/evil.example",
      "/\r\n/evil.example",
      " //evil.example",
      "javascript:alert(1)",
      "/%2F%2Fevil.example",
    ];
    const session = await web.signIn("mari");
    const origin = new URL(web.url).origin;
    // WHATWG URL parsing, as browsers do (it drops tabs and newlines, reads `\` as `/`).
    const lands = (location: string | null) => new URL(location ?? "", web.url).origin;
    for (const next of evil) {
      const shown = await session.get(`/login?next=${encodeURIComponent(next)}`);
      assert.equal(shown.status, 302, `GET next=${JSON.stringify(next)}`);
      assert.equal(lands(shown.headers.get("location")), origin, `GET next=${JSON.stringify(next)}`);
      const anonymous = await anonymousSession(web.url);
      const posted = await anonymous.post("/login", { username: "mari", password: passwordOf("mari"), next });
      assert.equal(posted.status, 303, `POST next=${JSON.stringify(next)}`);
      assert.equal(lands(posted.headers.get("location")), origin, `POST next=${JSON.stringify(next)}`);
    }
    const kept = await session.get(`/login?next=${encodeURIComponent("/runs/MARI/1?version=2")}`);
    assert.equal(kept.headers.get("location"), "/runs/MARI/1?version=2", "a path on this site is kept");
  });

  test("every HTML page, whoever asks, is sent with a CSP that allows no inline script or style", async () => {
    const callers: Array<[string, Record<string, string>]> = [
      ["anonymous", {}],
      ["outsider", headersOf(await web.signIn("outsider"))],
      ["admin", headersOf(await web.signIn("admin"))],
    ];
    const paths = [
      ...routes.filter((r) => r.method === "GET").map((r) => fillPattern(r.url, PARAMS)),
      "/no/such/page",
      `/runs/MARI/${NO_SUCH_RUN}`,
    ];
    const checked: string[] = [];
    const wrong: string[] = [];
    for (const path of paths)
      for (const [who, headers] of callers) {
        const response = await fetch(`${web.url}${path}`, { headers, redirect: "manual" });
        const html = (response.headers.get("content-type") ?? "").startsWith("text/html");
        await response.body?.cancel();
        if (!html) continue;
        checked.push(`${path} as ${who}`);
        const problem = cspProblem(response.headers);
        if (problem) wrong.push(`${path} as ${who} (${response.status}): ${problem}`);
      }
    assert.deepEqual(wrong, []);
    assert.ok(checked.length >= 6, `HTML pages checked: ${checked.join(", ")}`);
  });

  test("a refusal does not tell whether a run exists to someone who may not see it", async () => {
    const withRun = routes.filter((r) => r.url.includes(":run"));
    assert.ok(withRun.length >= 2, "the run routes are found");
    const people: Array<[string, Session, number]> = [
      ["anonymous", await anonymousSession(web.url), RUN_OF_MEMBER],
      ["outsider", await web.signIn("outsider"), RUN_OF_MEMBER],
      ["wish", await web.signIn("wish"), RUN_OF_MEMBER],
      // The member may see run 31415 (their experiment), not 27182 (another experiment of MARI).
      ["member", await web.signIn("member"), RUN_OF_OTHERS],
    ];
    const answer = async (session: Session, route: RegisteredRoute, run: number) => {
      const path = fillPattern(route.url, { ...PARAMS, run: String(run) });
      const response = route.method === "GET" ? await session.get(path) : await session.postJson(path, {});
      return `${response.status} ${(await response.text()).replaceAll(String(run), "RUN")}`;
    };
    for (const route of withRun)
      for (const [who, session, hidden] of people) {
        const existing = await answer(session, route, hidden);
        const missing = await answer(session, route, NO_SUCH_RUN);
        assert.match(existing, /^40[13] /, `${route.method} ${route.url} as ${who}: refused`);
        assert.equal(
          existing,
          missing,
          `${route.method} ${route.url} as ${who}: same answer with or without the run`,
        );
      }
    // A re-run names its runs in the body.
    for (const [who, session, hidden] of people) {
      const rerun = async (run: number) => {
        const response = await session.postJson("/api/v1/runs/MARI/rerun", {
          runs: String(run),
          dry_run: true,
        });
        return `${response.status} ${(await response.text()).replaceAll(String(run), "RUN")}`;
      };
      const existing = await rerun(hidden);
      assert.match(existing, /^40[13] /, `re-run as ${who}: refused`);
      assert.equal(
        existing,
        await rerun(NO_SUCH_RUN),
        `re-run as ${who}: same answer with or without the run`,
      );
    }
  });

  test("live updates reach only those who may see the run", async () => {
    const admin = await web.signIn("admin");
    const outsider = await web.signIn("outsider");
    const member = await web.signIn("member");
    const streams = {
      admin: await listen(`${web.url}/api/v1/events`, headersOf(admin)),
      outsider: await listen(`${web.url}/api/v1/events`, headersOf(outsider)),
      member: await listen(`${web.url}/api/v1/events`, headersOf(member)),
      anonymous: await listen(`${web.url}/api/v1/events`, {}),
    };
    try {
      await waitFor(() => web.server.hub.size >= 4, "four listeners");
      const publisher = new ChangePublisher(web.transport, web.config, silentLogger());
      const event = (instrument: string, run: number, job: string): ChangeFacts => ({
        subject: "job",
        kind: "reduction",
        job_id: job,
        status: "running",
        previous_status: "queued",
        message: null,
        updated_at: Date.now(),
        instrument,
        run_number: run,
        version: 0,
      });
      await publisher.publish(event("MARI", RUN_OF_OTHERS, "job-mari-others"));
      await publisher.publish(event("MARI", RUN_OF_MEMBER, "job-mari-member"));
      await waitFor(() => streams.admin.text.includes("job-mari-member"), "the admin's events");
      await waitFor(() => streams.member.text.includes("job-mari-member"), "the member's event");
      // Sent after the MARI events reached the admin: whoever sees this one would have had those by now.
      await publisher.publish(event("WISH", 5, "job-wish-open"));
      for (const s of Object.values(streams))
        await waitFor(() => s.text.includes("job-wish-open"), "WISH's event (open to all)");
      assert.ok(streams.admin.text.includes("job-mari-others"));
      assert.ok(!streams.member.text.includes("job-mari-others"), "not another experiment's run");
      for (const who of ["outsider", "anonymous"] as const)
        assert.ok(!streams[who].text.includes("job-mari"), `${who} hears nothing of MARI`);
    } finally {
      for (const s of Object.values(streams)) await s.cancel();
    }
  });
});

/** What is wrong with a response's CSP for our pages (null: nothing). */
function cspProblem(headers: Headers): string | null {
  const csp = headers.get("content-security-policy");
  if (!csp) return "no Content-Security-Policy header";
  const directives = new Map(
    csp
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name = "", ...values]) => [name, values.join(" ")] as const),
  );
  const wanted: Record<string, string> = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
  };
  for (const [name, value] of Object.entries(wanted))
    if (directives.get(name) !== value)
      return `${name} is "${directives.get(name) ?? "(none)"}", want ${value}`;
  if (headers.get("x-content-type-options") !== "nosniff") return "no X-Content-Type-Options: nosniff";
  return null;
}
