import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LoginAttempts, safeNext } from "../../src/web/pages/login-page.tsx";
import { openWebStack, passwordOf, type WebStack } from "../helpers/web-stack.ts";

describe("sign-in, sessions and CSRF", () => {
  let web: WebStack;
  before(async () => {
    web = await openWebStack({ web: { anonymous_read: ["WISH"] } });
    await web.seedRun({ instrument: "MARI", run: 1, experiment: "IPTS-100", title: "mari run" });
    await web.seedRun({ instrument: "WISH", run: 2, experiment: "IPTS-200", title: "wish run" });
  });
  after(() => web.close());

  test("the form has labelled Username and Password fields and a CSRF field", async () => {
    const html = await (await fetch(`${web.url}/login`)).text();
    assert.match(html, /<label for="username">Username<\/label><input id="username"/);
    assert.match(html, /<label for="password">Password<\/label><input id="password"[^>]*type="password"/);
    assert.match(html, /name="_csrf" value="[A-Za-z0-9_-]{20,}"/);
  });

  test("a right password signs in (HttpOnly session cookie); a wrong one is 401 with a plain message", async () => {
    const session = await web.signIn("mari");
    assert.match(session.cookie, /ar_session=/);
    const runs = (await (await session.get("/api/v1/runs")).json()) as Array<{ instrument: string }>;
    assert.deepEqual(runs.map((r) => r.instrument).sort(), ["MARI", "WISH"]);
    await assert.rejects(
      web.signIn("mari", "wrong-password"),
      /sign-in of mari failed: 401.*Unknown user name or wrong password/s,
    );
    await assert.rejects(web.signIn("nobody", "whatever-password"), /401/);
  });

  test("anonymous readers see only the instruments open to them", async () => {
    const runs = (await (await fetch(`${web.url}/api/v1/runs`)).json()) as Array<{ instrument: string }>;
    assert.deepEqual(
      runs.map((r) => r.instrument),
      ["WISH"],
    );
    assert.equal((await fetch(`${web.url}/api/v1/runs?instrument=MARI`)).status, 401);
  });

  test("an experimenter sees their experiment's runs only; an outsider none of MARI", async () => {
    const member = await web.signIn("member");
    const runs = (await (await member.get("/api/v1/runs")).json()) as Array<{ run_number: number }>;
    assert.deepEqual(runs.map((r) => r.run_number).sort(), [1, 2]);
    const outsider = await web.signIn("outsider");
    assert.equal((await outsider.get("/api/v1/runs/MARI/1")).status, 403);
    assert.equal((await member.get("/api/v1/runs/MARI/1")).status, 200);
  });

  test("a form post without the CSRF token is refused, with it accepted", async () => {
    const session = await web.signIn("outsider");
    const refused = await session.post("/logout", {}, { csrf: false });
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /security token/);
    assert.equal((await session.get("/api/v1/runs")).status, 200, "still signed in");
    const accepted = await session.post("/logout");
    assert.equal(accepted.status, 303);
    assert.equal((await session.get("/api/v1/runs")).status, 200, "WISH is open to anyone");
    assert.equal((await session.get("/api/v1/runs/MARI/1")).status, 401, "signed out");
  });

  test("a login post without the pre-session token is refused (login CSRF)", async () => {
    const response = await fetch(`${web.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username: "admin", password: passwordOf("admin") }).toString(),
    });
    assert.equal(response.status, 403);
  });

  test("the password is never in a log line or URL: the cookie is HttpOnly and SameSite", async () => {
    const form = await fetch(`${web.url}/login`);
    const cookie = form.headers.getSetCookie().join("; ");
    const pre = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
    const response = await fetch(`${web.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookie.split(";")[0] ?? "" },
      body: new URLSearchParams({
        username: "admin",
        password: passwordOf("admin"),
        _csrf: pre,
        next: "//evil.example/x",
      }).toString(),
    });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/", "no redirect to another host");
    const set = response.headers.getSetCookie().find((c) => c.startsWith("ar_session=")) ?? "";
    assert.match(set, /HttpOnly/);
    assert.match(set, /SameSite=Lax/);
  });

  test("pages send a CSP that allows no inline script", async () => {
    const csp = (await fetch(`${web.url}/login`)).headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
  });

  test("/healthz and /ready need no sign-in", async () => {
    assert.deepEqual(await (await fetch(`${web.url}/healthz`)).json(), { ok: true });
    assert.deepEqual(await (await fetch(`${web.url}/ready`)).json(), { ready: true });
  });
});

test("too many failed sign-ins wait out the window; success clears the count", () => {
  const attempts = new LoginAttempts(3, 60_000);
  for (let i = 0; i < 3; i++) attempts.failed("k", 1000 + i);
  assert.ok(attempts.blockedFor("k", 2000) > 0);
  assert.equal(attempts.blockedFor("k", 61_001), 0, "the first failure left the window");
  attempts.succeeded("k");
  assert.equal(attempts.blockedFor("k", 2000), 0);
});

test("after sign-in, only a path on this site", () => {
  assert.equal(safeNext("/runs/MARI/1"), "/runs/MARI/1");
  for (const bad of ["//evil.example", "https://evil.example", "/\\evil.example", 42, undefined])
    assert.equal(safeNext(bad), "/");
});

describe("the sign-in limit counts the connection's address unless a trusted proxy forwards it", () => {
  /** A failed sign-in that claims to come from `from` (X-Forwarded-For); its status. */
  async function failFrom(url: string, from: string): Promise<number> {
    const form = await fetch(`${url}/login`);
    const cookie = (form.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
    const response = await fetch(`${url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie, "x-forwarded-for": from },
      body: new URLSearchParams({ username: "mari", password: "wrong-password", _csrf: csrf }).toString(),
    });
    await response.body?.cancel();
    return response.status;
  }

  test("without trusted proxies a claimed X-Forwarded-For changes nothing: the third failure waits", async () => {
    const web = await openWebStack({
      web: { login_attempts: 2, public_url: "https://autoreduce.example.org" },
    });
    try {
      const statuses = [];
      for (const from of ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
        statuses.push(await failFrom(web.url, from));
      assert.deepEqual(statuses, [401, 401, 429]);
    } finally {
      await web.close();
    }
  });

  test("behind a trusted proxy each forwarded client is counted on its own", async () => {
    const web = await openWebStack({ web: { login_attempts: 2, trusted_proxies: ["127.0.0.1"] } });
    try {
      const statuses = [];
      for (const from of ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
        statuses.push(await failFrom(web.url, from));
      assert.deepEqual(statuses, [401, 401, 401]);
      assert.equal(await failFrom(web.url, "203.0.113.3"), 401);
      assert.equal(await failFrom(web.url, "203.0.113.3"), 429, "the same client's third failure waits");
    } finally {
      await web.close();
    }
  });
});
