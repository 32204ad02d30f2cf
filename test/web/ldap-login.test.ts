import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Attribute, Change, Client } from "ldapts";
import { pino } from "pino";
import { freePort } from "../../scripts/services/process-tools.ts";
import {
  LDAP_GROUPS,
  LDAP_PEOPLE,
  LDAP_ROOT_DN,
  LDAP_ROOT_PASSWORD,
  LDAP_UNIQUE_GROUP,
  LDAP_USER_DN,
  Slapd,
} from "../../scripts/services/slapd.ts";
import type { Config } from "../../src/config/load-config.ts";
import { findUser, grantInstrument, setAdmin } from "../../src/store/user-store.ts";
import { escapeDnValue, ldapLogin } from "../../src/web/auth/ldap-login.ts";
import { loginMethods } from "../../src/web/auth/login-methods.ts";
import { startWebServer, type WebServer } from "../../src/web/web-server.tsx";
import { TcpProxy } from "../helpers/tcp-proxy.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { openWebStack, passwordOf, type Session, signIn, type WebStack } from "../helpers/web-stack.ts";

type LdapSettings = NonNullable<Config["web"]["ldap"]>;

/** A logger whose JSON lines the tests can read. */
function memoryLogger() {
  const lines: string[] = [];
  return { lines, log: pino({ level: "debug" }, { write: (line: string) => void lines.push(line) }) };
}

/** One post of the sign-in form (with its pre-session token); the raw answer. */
async function postForm(url: string, username: string, password: string): Promise<Response> {
  const form = await fetch(`${url}/login`);
  const cookie = (form.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
  return fetch(`${url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ username, password, _csrf: csrf }).toString(),
  });
}

const personDn = (uid: string) => LDAP_USER_DN.replace("{username}", uid);

describe("LDAP sign-in against a real slapd", () => {
  let own: { slapd: Slapd; dir: ReturnType<typeof tempDir> } | null = null;
  let ldapUrl: string;
  let proxy: TcpProxy;
  let web: WebStack;
  let server: WebServer;
  const logs = memoryLogger();
  let settings: LdapSettings;

  /** A web app on the same stack with these sign-in settings (closed by the caller). */
  async function serverWith(web: WebStack, patch: Partial<Config["web"]>): Promise<WebServer> {
    const config: Config = { ...web.config, web: { ...web.config.web, ...patch } };
    return startWebServer({
      ...web,
      config,
      log: logs.log,
      host: "127.0.0.1",
      port: 0,
      loginMethods: await loginMethods(config, web.database, logs.log),
    });
  }

  before(async () => {
    // The test run's shared slapd (scripts/services/cli.ts); run alone, a private one of our own.
    if (process.env.AUTOREDUCE_TEST_LDAP) ldapUrl = process.env.AUTOREDUCE_TEST_LDAP;
    else {
      const dir = tempDir("autoreduce-slapd-");
      own = { slapd: new Slapd(dir.path, await freePort()), dir };
      await own.slapd.start();
      ldapUrl = own.slapd.url;
    }
    const target = new URL(ldapUrl);
    // Between the app and slapd, to count connections (no bind for refused input) and to cut it.
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    web = await openWebStack({
      web: {
        ldap: {
          url: `ldap://127.0.0.1:${proxy.port}`,
          user_dn: LDAP_USER_DN,
          admin_groups: [LDAP_GROUPS.admins],
          scientist_groups: {
            MARI: [LDAP_GROUPS.mariScientists, LDAP_UNIQUE_GROUP],
            WISH: [LDAP_GROUPS.wishScientists],
          },
          timeout_seconds: 5,
        },
      },
    });
    settings = web.config.web.ldap as LdapSettings;
    server = await serverWith(web, {});
    await web.seedRun({ instrument: "MARI", run: 11, experiment: "IPTS-900", title: "mari run" });
    await web.seedRun({ instrument: "WISH", run: 22, experiment: "IPTS-901", title: "wish run" });
  });
  after(async () => {
    await server?.close();
    await web?.close();
    await proxy?.close();
    if (own) {
      await own.slapd.stop();
      own.dir.cleanup();
    }
  });

  const instrumentsSeen = async (session: Session) =>
    ((await (await session.get("/api/v1/runs")).json()) as Array<{ instrument: string }>)
      .map((r) => r.instrument)
      .sort();

  const grantsOf = async (username: string) => {
    const user = await findUser(web.database, username);
    return web.database.db
      .selectFrom("user_instruments")
      .select(["instrument", "granted_by"])
      .where("user_id", "=", user?.id ?? 0)
      .orderBy("instrument")
      .execute();
  };

  test("the admin group's member is an administrator (admin reads), with name and e-mail from the directory", async () => {
    const alice = await signIn(server.url, "alice", LDAP_PEOPLE.alice.password);
    assert.equal((await alice.get("/api/v1/jobs")).status, 200);
    assert.deepEqual(await instrumentsSeen(alice), ["MARI", "WISH"]);
    const user = await findUser(web.database, "alice");
    assert.equal(user?.provider, "ldap");
    assert.equal(user?.admin, true);
    assert.equal(user?.display_name, "Alice Admin");
    assert.equal(user?.email, "alice@autoreduce.test");
    assert.deepEqual(await grantsOf("alice"), [{ instrument: "WISH", granted_by: "ldap" }]);
  });

  test("mari-scientists' member is a scientist of MARI only (user names in any case are one person)", async () => {
    const bob = await signIn(server.url, "Bob", LDAP_PEOPLE.bob.password);
    assert.deepEqual(await instrumentsSeen(bob), ["MARI"]);
    assert.equal((await bob.get("/api/v1/runs/WISH/22")).status, 403);
    assert.equal((await bob.get("/api/v1/jobs")).status, 403);
    assert.equal((await findUser(web.database, "bob"))?.admin, false);
    assert.equal(await findUser(web.database, "Bob"), null, "stored in lower case");
    assert.deepEqual(await grantsOf("bob"), [{ instrument: "MARI", granted_by: "ldap" }]);
  });

  test("SNS's publish_plot form takes directory accounts too: bob publishes on MARI, carol is refused", async () => {
    const post = (username: string, password: string) => {
      const form = new FormData();
      form.set("username", username);
      form.set("password", password);
      form.set("file", new Blob([JSON.stringify({ series: [{ x: [1, 2], y: [3, 4] }] })]), "plot.json");
      return fetch(`${server.url}/plots/MARI/11/upload_plot_data/`, { method: "POST", body: form });
    };
    const published = await post("bob", LDAP_PEOPLE.bob.password);
    assert.equal(published.status, 200, await published.text()); // 200, as live_data_server answers
    assert.equal((await post("bob", "wrong-password")).status, 401);
    assert.equal(
      (await post("carol", LDAP_PEOPLE.carol.password)).status,
      403,
      "signed in, but no role on MARI",
    );
  });

  test("a member of no group signs in with no role", async () => {
    const carol = await signIn(server.url, "carol", LDAP_PEOPLE.carol.password);
    assert.equal((await carol.get("/api/v1/runs")).status, 403);
    assert.deepEqual(await grantsOf("carol"), []);
  });

  test("a member by uniqueMember (groupOfUniqueNames) counts", async () => {
    await signIn(server.url, "dave", LDAP_PEOPLE.dave.password);
    assert.deepEqual(await grantsOf("dave"), [{ instrument: "MARI", granted_by: "ldap" }]);
  });

  test("group changes in the directory are followed at the next sign-in", async () => {
    // A person of this run only (the directory is shared by every test run on the machine).
    const uid = `eve-${process.pid}-${Date.now().toString(36)}`;
    const password = "eve-ldap-pw";
    const root = new Client({ url: ldapUrl });
    await root.bind(LDAP_ROOT_DN, LDAP_ROOT_PASSWORD);
    const wishMember = (operation: "add" | "delete") =>
      root.modify(
        LDAP_GROUPS.wishScientists,
        new Change({ operation, modification: new Attribute({ type: "member", values: [personDn(uid)] }) }),
      );
    try {
      await root.add(personDn(uid), {
        objectClass: "inetOrgPerson",
        uid,
        cn: "Eve Temporary",
        sn: "Temporary",
        userPassword: password,
      });
      await signIn(server.url, uid, password);
      assert.deepEqual(await grantsOf(uid), []);
      await wishMember("add");
      const eve = await signIn(server.url, uid, password);
      assert.deepEqual(await instrumentsSeen(eve), ["WISH"]);
      await wishMember("delete");
      await signIn(server.url, uid, password);
      assert.deepEqual(await grantsOf(uid), []);
    } finally {
      await wishMember("delete").catch(() => {});
      await root.del(personDn(uid)).catch(() => {});
      await root.unbind();
    }
  });

  test("directory roles are replaced at each sign-in; an administrator's grant stays; admin follows the admin groups", async () => {
    const carol = await findUser(web.database, "carol");
    assert.ok(carol, "carol signed in before");
    await grantInstrument(web.database, carol.id, "LET", "ldap"); // a group she has since left
    await grantInstrument(web.database, carol.id, "MARI", "admin"); // given by an administrator
    await setAdmin(web.database, carol.id, true); // not in the admin group: the directory decides
    const session = await signIn(server.url, "carol", LDAP_PEOPLE.carol.password);
    assert.deepEqual(await grantsOf("carol"), [{ instrument: "MARI", granted_by: "admin" }]);
    assert.equal((await findUser(web.database, "carol"))?.admin, false);
    assert.deepEqual(await instrumentsSeen(session), ["MARI"]);
  });

  test("a wrong password or an unknown person: 401 with the form's plain message", async () => {
    for (const [username, password] of [
      ["bob", "not-bobs-password"],
      ["nobody-here", "whatever-password"],
    ] as const) {
      const answer = await postForm(server.url, username, password);
      assert.equal(answer.status, 401);
      assert.match(await answer.text(), /Unknown user name or wrong password\./);
    }
  });

  test("an empty password is refused before any bind (it would be an anonymous bind)", async () => {
    const before = proxy.connections;
    const answer = await postForm(server.url, "bob", "");
    assert.equal(answer.status, 400);
    assert.match(await answer.text(), /Enter your user name and password\./);
    const method = ldapLogin(settings, web.database, logs.log);
    assert.equal(await method.checkPassword?.("bob", ""), null);
    assert.equal(proxy.connections, before, "no connection to the directory");
  });

  test("DN and filter injection attempts are refused without a bind", async () => {
    const before = proxy.connections;
    for (const username of [
      "*)(uid=*",
      "bob,ou=groups",
      "bob)(|(uid=*",
      "cn=admin,dc=autoreduce,dc=test",
      " bob",
    ]) {
      const answer = await postForm(server.url, username, LDAP_PEOPLE.bob.password);
      assert.equal(answer.status, 401, username);
    }
    assert.equal(proxy.connections, before, "no connection to the directory");
    assert.equal(escapeDnValue('a,b+c"d\\e<f>g;h=i'), 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i');
    assert.equal(escapeDnValue("#x "), "\\#x\\ ");
  });

  test("a LOCAL account of the same name is never taken over by the directory", async () => {
    // With local accounts on, the local password decides: the directory's is wrong here.
    const refused = await postForm(server.url, "mari", LDAP_PEOPLE.mari.password);
    assert.equal(refused.status, 401);
    await signIn(server.url, "mari", passwordOf("mari"));
    // With local accounts off, the directory accepts the password but the name is taken: refused, logged.
    const ldapOnly = await serverWith(web, { local_login: false });
    try {
      const answer = await postForm(ldapOnly.url, "mari", LDAP_PEOPLE.mari.password);
      assert.equal(answer.status, 401);
    } finally {
      await ldapOnly.close();
    }
    const user = await findUser(web.database, "mari");
    assert.equal(user?.provider, "local");
    assert.deepEqual(await grantsOf("mari"), [{ instrument: "MARI", granted_by: "test" }]);
    assert.ok(
      logs.lines.some(
        (l) => l.includes("ldap sign-in refused: a local account") && l.includes('"username":"mari"'),
      ),
    );
  });

  test("the directory down: a readable 503, and local accounts still sign in", async () => {
    const closed = await freePort();
    const down = await serverWith(web, { ldap: { ...settings, url: `ldap://127.0.0.1:${closed}` } });
    try {
      const answer = await postForm(down.url, "bob", LDAP_PEOPLE.bob.password);
      assert.equal(answer.status, 503);
      assert.match(await answer.text(), /the directory \(LDAP\) did not answer\. Try again in a few minutes/);
      await signIn(down.url, "admin", passwordOf("admin"));
    } finally {
      await down.close();
    }
  });

  test("a directory that accepts the connection but never answers: refused within the timeout", async () => {
    const silent: Socket[] = [];
    const hung: Server = createServer((socket) => void silent.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const port = (hung.address() as { port: number }).port;
    const slow = await serverWith(web, {
      ldap: { ...settings, url: `ldap://127.0.0.1:${port}`, timeout_seconds: 0.5 },
    });
    try {
      const began = Date.now();
      const answer = await postForm(slow.url, "bob", LDAP_PEOPLE.bob.password);
      assert.equal(answer.status, 503);
      assert.ok(Date.now() - began < 5000, `answered after ${Date.now() - began} ms`);
    } finally {
      await slow.close();
      for (const s of silent) s.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  test("passwords are never logged", () => {
    const all = logs.lines.join("\n");
    for (const { password } of Object.values(LDAP_PEOPLE))
      assert.ok(!all.includes(password), "a password in the log");
  });
});
