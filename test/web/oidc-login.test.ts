import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { freePort } from "../../scripts/services/process-tools.ts";
import type { Config } from "../../src/config/load-config.ts";
import { findUser, grantInstrument } from "../../src/store/user-store.ts";
import { loginMethods } from "../../src/web/auth/login-methods.ts";
import { oidcLogin } from "../../src/web/auth/oidc-login.ts";
import { startWebServer, type WebServer } from "../../src/web/web-server.tsx";
import { Browser } from "../helpers/cookie-jar-client.ts";
import { type OidcProviderProcess, startOidcProvider } from "../helpers/oidc-provider.ts";
import { openWebStack, signIn, type WebStack } from "../helpers/web-stack.ts";

const CLIENT_ID = "autoreduce-web";
const CLIENT_SECRET = "s3cret-of-the-autoreduce-client-0123456789";
const SECRET_FILE = "oidc-client-secret";

const ACCOUNTS = {
  alice: {
    password: "alice-sso-pw",
    claims: {
      preferred_username: "alice",
      name: "Alice Admin",
      email: "alice@sso.test",
      groups: ["facility-admins"],
    },
  },
  bob: {
    password: "bob-sso-pw",
    claims: { preferred_username: "Bob", name: "Bob Scientist", groups: ["mari-team"] },
  },
  carol: { password: "carol-sso-pw", claims: { preferred_username: "carol", groups: ["users"] } },
  /** Named like the stack's LOCAL account `mari`: never taken over. */
  mari: { password: "mari-sso-pw", claims: { preferred_username: "mari", groups: ["mari-team"] } },
  /** No user name claim: the subject is the user name. */
  "u-7781": { password: "subject-pw", claims: { groups: "mari-team" } },
};

/** A logger whose JSON lines the tests can read (to check what is, and is not, logged). */
function memoryLogger() {
  const lines: string[] = [];
  return { lines, log: pino({ level: "debug" }, { write: (line: string) => void lines.push(line) }) };
}

describe("OpenID Connect sign-in against a real provider process", () => {
  let web: WebStack;
  let server: WebServer;
  let provider: OidcProviderProcess;
  const logs = memoryLogger();

  before(async () => {
    const providerPort = await freePort();
    web = await openWebStack({
      web: {
        oidc: {
          issuer: `http://127.0.0.1:${providerPort}`,
          client_id: CLIENT_ID,
          client_secret_file: SECRET_FILE,
          label: "Test SSO",
          scopes: ["openid", "profile", "email", "groups"],
          admin_groups: ["facility-admins"],
          scientist_groups: { MARI: ["mari-team"] },
          allow_insecure_http: true,
        },
      },
    });
    writeFileSync(join(web.dir, SECRET_FILE), `${CLIENT_SECRET}\n`, { mode: 0o600 });
    server = await startWebServer({
      ...web,
      log: logs.log,
      host: "127.0.0.1",
      port: 0,
      loginMethods: await loginMethods(web.config, web.database, logs.log),
    });
    provider = await startOidcProvider({
      port: providerPort,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUris: [`${server.url}/login/oidc/callback`],
      accounts: ACCOUNTS,
    });
    await web.seedRun({ instrument: "MARI", run: 11, experiment: "IPTS-900", title: "mari run" });
    await web.seedRun({ instrument: "WISH", run: 22, experiment: "IPTS-901", title: "wish run" });
  });
  after(async () => {
    await provider?.stop();
    await server?.close();
    await web?.close();
  });

  /**
   * Drives the code flow as a browser does, up to (not into) our callback: our /login/oidc →
   * provider /auth → its login form → its consent form → the redirect to our callback.
   */
  async function toCallback(browser: Browser, login: keyof typeof ACCOUNTS, next = "/"): Promise<URL> {
    assert.equal(provider.child.exitCode, null, "the provider process is alive");
    const start = `${server.url}/login/oidc?next=${encodeURIComponent(next)}`;
    const started = await browser.request(start);
    assert.equal(started.status, 303);
    assert.ok(started.headers.get("location")?.startsWith(`${provider.issuer}/auth?`), "to the provider");
    const authorize = new URL(started.headers.get("location") ?? "");
    assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
    assert.ok(authorize.searchParams.get("state") && authorize.searchParams.get("nonce"));
    assert.equal(
      authorize.searchParams.get("next"),
      null,
      "next stays in our cookie, not the provider's URL",
    );
    const loginPage = await browser.follow(start, started);
    const loginHtml = await loginPage.response.text();
    assert.equal(loginPage.response.status, 200, loginHtml);
    const loginAction = /action="([^"]+\/login)"/.exec(loginHtml)?.[1] ?? "";
    const loggedIn = await browser.post(new URL(loginAction, loginPage.url), {
      login,
      password: ACCOUNTS[login].password,
    });
    const consentPage = await browser.follow(new URL(loginAction, loginPage.url), loggedIn);
    const consentHtml = await consentPage.response.text();
    assert.match(consentHtml, /asks to know who you are/);
    const confirm = new URL(/action="([^"]+\/confirm)"/.exec(consentHtml)?.[1] ?? "", consentPage.url);
    const consented = await browser.post(confirm, {});
    const back = await browser.follow(confirm, consented, (location) =>
      location.href.startsWith(`${server.url}/login/oidc/callback`),
    );
    assert.ok(
      back.url.href.startsWith(`${server.url}/login/oidc/callback?`),
      `back at our callback: ${back.url}`,
    );
    return back.url;
  }

  /** The whole flow; returns our callback's answer. */
  async function signInAs(browser: Browser, login: keyof typeof ACCOUNTS, next = "/"): Promise<Response> {
    return browser.request(await toCallback(browser, login, next));
  }

  test("the sign-in page offers 'Sign in with Test SSO'", async () => {
    const html = await (await fetch(`${server.url}/login?next=/runs`)).text();
    assert.match(
      html,
      /<a class="button secondary" href="\/login\/oidc\?next=%2Fruns">Sign in with Test SSO<\/a>/,
    );
  });

  test("admin group → administrator: signed in, sent to `next`, admin reads allowed", async () => {
    const browser = new Browser();
    const callback = await signInAs(browser, "alice", "/api/v1/jobs?limit=5");
    assert.equal(callback.status, 303, await callback.text());
    assert.equal(callback.headers.get("location"), "/api/v1/jobs?limit=5");
    assert.ok(browser.cookie(server.url, "ar_session"), "a session cookie");
    assert.equal(browser.cookie(server.url, "ar_oidc"), undefined, "the flow cookie is cleared");
    assert.equal((await browser.request(`${server.url}/api/v1/jobs`)).status, 200);
    const runs = (await (await browser.request(`${server.url}/api/v1/runs`)).json()) as unknown[];
    assert.equal(runs.length, 2);
    const alice = await findUser(web.database, "alice");
    assert.equal(alice?.provider, "oidc");
    assert.equal(alice?.admin, true);
    assert.equal(alice?.display_name, "Alice Admin");
    assert.equal(alice?.email, "alice@sso.test");
    const session = await web.database.db
      .selectFrom("sessions")
      .select("provider")
      .where("user_id", "=", alice?.id ?? 0)
      .executeTakeFirst();
    assert.equal(session?.provider, "oidc");
  });

  test("group → scientist of MARI (user name in lower case): sees MARI, not WISH, no admin reads", async () => {
    const browser = new Browser();
    assert.equal((await signInAs(browser, "bob")).status, 303);
    const runs = (await (await browser.request(`${server.url}/api/v1/runs`)).json()) as Array<{
      instrument: string;
    }>;
    assert.deepEqual(
      runs.map((r) => r.instrument),
      ["MARI"],
    );
    assert.equal((await browser.request(`${server.url}/api/v1/runs/WISH/22`)).status, 403);
    assert.equal((await browser.request(`${server.url}/api/v1/jobs`)).status, 403);
    const bob = await findUser(web.database, "bob");
    assert.equal(bob?.admin, false);
    const grants = await web.database.db
      .selectFrom("user_instruments")
      .select(["instrument", "granted_by"])
      .where("user_id", "=", bob?.id ?? 0)
      .execute();
    assert.deepEqual(grants, [{ instrument: "MARI", granted_by: "oidc" }]);
  });

  test("roles from the provider are replaced at each sign-in; an administrator's grant stays", async () => {
    const bob = await findUser(web.database, "bob");
    assert.ok(bob, "bob signed in before");
    await grantInstrument(web.database, bob.id, "LET", "oidc"); // a group he has since left
    await grantInstrument(web.database, bob.id, "WISH", "admin"); // given by an administrator
    const browser = new Browser();
    assert.equal((await signInAs(browser, "bob")).status, 303);
    const grants = await web.database.db
      .selectFrom("user_instruments")
      .select(["instrument", "granted_by"])
      .where("user_id", "=", bob.id)
      .orderBy("instrument")
      .execute();
    assert.deepEqual(grants, [
      { instrument: "MARI", granted_by: "oidc" },
      { instrument: "WISH", granted_by: "admin" },
    ]);
  });

  test("without a user name claim the subject is the user name; a single group string counts", async () => {
    const browser = new Browser();
    assert.equal((await signInAs(browser, "u-7781")).status, 303);
    const user = await findUser(web.database, "u-7781");
    assert.equal(user?.provider, "oidc");
    const runs = (await (await browser.request(`${server.url}/api/v1/runs`)).json()) as Array<{
      instrument: string;
    }>;
    assert.deepEqual(
      runs.map((r) => r.instrument),
      ["MARI"],
    );
  });

  test("no group → signed in with no role: refused the runs (403)", async () => {
    const browser = new Browser();
    assert.equal((await signInAs(browser, "carol")).status, 303);
    assert.equal((await browser.request(`${server.url}/api/v1/runs`)).status, 403);
    assert.equal((await browser.request(`${server.url}/api/v1/runs/MARI/11`)).status, 403);
  });

  test("a state that does not match this browser's is refused (400), nothing signed in", async () => {
    const browser = new Browser();
    const callback = await toCallback(browser, "alice");
    callback.searchParams.set("state", "an-attacker-chosen-state-value-0123456789");
    const answer = await browser.request(callback);
    assert.equal(answer.status, 400);
    const html = await answer.text();
    assert.match(
      html,
      /Sign-in with Test SSO failed: the answer does not match the sign-in this browser started/,
    );
    assert.match(html, /Try again<\/a> or <a href="\/login">use your facility account<\/a>/);
    assert.equal(browser.cookie(server.url, "ar_session"), undefined);
  });

  test("a callback in another browser (no flow cookie: login CSRF) is refused (400)", async () => {
    const callback = await toCallback(new Browser(), "alice");
    const victim = new Browser();
    const answer = await victim.request(callback);
    assert.equal(answer.status, 400);
    assert.match(await answer.text(), /does not belong to a sign-in started in this browser/);
    assert.equal(victim.cookie(server.url, "ar_session"), undefined);
  });

  test("a code used twice is refused by the provider (401), with a readable page", async () => {
    const browser = new Browser();
    const callback = await toCallback(browser, "carol");
    const flow = browser.cookie(server.url, "ar_oidc") ?? "";
    assert.equal((await browser.request(callback)).status, 303);
    const replay = await fetch(callback, { headers: { cookie: `ar_oidc=${flow}` }, redirect: "manual" });
    assert.equal(replay.status, 401);
    assert.match(await replay.text(), /Sign-in with Test SSO failed: its answer could not be checked/);
  });

  test("the person cancelling at the provider gets a readable 401 page", async () => {
    const browser = new Browser();
    const start = `${server.url}/login/oidc?next=%2F`;
    const loginPage = await browser.follow(start, await browser.request(start));
    const abort = new URL(
      /href="([^"]+\/abort)"/.exec(await loginPage.response.text())?.[1] ?? "",
      loginPage.url,
    );
    const back = await browser.follow(abort, await browser.request(abort), (l) =>
      l.href.startsWith(server.url),
    );
    const answer = await browser.request(back.url);
    assert.equal(answer.status, 401);
    assert.match(
      await answer.text(),
      /Sign-in with Test SSO failed: Test SSO said &quot;the person cancelled the sign-in&quot;\./,
    );
  });

  test("a local account of the same name is not taken over (403, logged)", async () => {
    const browser = new Browser();
    const answer = await signInAs(browser, "mari");
    assert.equal(answer.status, 403);
    assert.match(
      await answer.text(),
      /an account named &quot;mari&quot; already exists here and signs in another way \(local\)/,
    );
    assert.equal(browser.cookie(server.url, "ar_session"), undefined);
    assert.equal((await findUser(web.database, "mari"))?.provider, "local");
    assert.ok(logs.lines.some((l) => l.includes("oidc sign-in refused") && l.includes('"username":"mari"')));
    // The local account still signs in with its own password.
    await signIn(server.url, "mari", "mari-password-1");
  });

  test("`next` is a path on this site only", async () => {
    const browser = new Browser();
    const answer = await signInAs(browser, "carol", "//evil.example/steal");
    assert.equal(answer.headers.get("location"), "/");
    const already = await browser.request(`${server.url}/login/oidc?next=%2Fruns%2FMARI%2F11`);
    assert.equal(already.status, 302, "signed in already: straight to next");
    assert.equal(already.headers.get("location"), "/runs/MARI/11");
  });

  test("no secret, code or token is logged", () => {
    const all = logs.lines.join("\n");
    assert.ok(logs.lines.length > 0);
    assert.doesNotMatch(all, new RegExp(CLIENT_SECRET));
    assert.doesNotMatch(all, /code=|id_token|access_token|eyJ/);
  });

  test("a provider that does not answer: a readable 503 page, and the form still works", async () => {
    const closed = await freePort();
    const config: Config = {
      ...web.config,
      web: {
        ...web.config.web,
        oidc: {
          ...(web.config.web.oidc as NonNullable<Config["web"]["oidc"]>),
          issuer: `http://127.0.0.1:${closed}`,
        },
      },
    };
    const down = await startWebServer({
      ...web,
      config,
      log: logs.log,
      host: "127.0.0.1",
      port: 0,
      loginMethods: [oidcLogin(config, web.database, logs.log)],
    });
    try {
      const answer = await fetch(`${down.url}/login/oidc`, { redirect: "manual" });
      assert.equal(answer.status, 503);
      assert.match(await answer.text(), /Sign-in with Test SSO failed: Test SSO did not answer/);
      await signIn(down.url, "admin", "admin-password-1");
    } finally {
      await down.close();
    }
  });

  test("a client secret file everyone may read is refused at start", () => {
    chmodSync(join(web.dir, SECRET_FILE), 0o644);
    try {
      assert.throws(() => oidcLogin(web.config, web.database, logs.log), /readable by everyone.*chmod 600/s);
    } finally {
      chmodSync(join(web.dir, SECRET_FILE), 0o600);
    }
  });

  test("an http:// issuer needs allow_insecure_http", () => {
    const oidc = web.config.web.oidc as NonNullable<Config["web"]["oidc"]>;
    const config: Config = {
      ...web.config,
      web: { ...web.config.web, oidc: { ...oidc, allow_insecure_http: false } },
    };
    assert.throws(() => oidcLogin(config, web.database, logs.log), /is not https/);
  });
});
