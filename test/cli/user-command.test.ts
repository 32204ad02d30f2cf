import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../src/config/load-config.ts";
import { createSession, findSession } from "../../src/store/session-store.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { findUser, passwordHashOf, userGrants } from "../../src/store/user-store.ts";
import { verifyPassword } from "../../src/web/auth/passwords.ts";
import { cli, makeDeployment } from "../helpers/deployment.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "autoreduce.js");

/** Runs the CLI with `input` on its standard input. */
function cliWithInput(
  args: string[],
  input: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe("autoreduce user", () => {
  const d = makeDeployment({ instruments: { MARI: {}, WISH: {} } });
  const user = (...args: string[]) => cli(["user", ...args, "--config", d.configFile]);
  let database: SqlDatabase;
  before(async () => {
    database = await openStateDatabase(loadConfig(d.configFile).database.url);
  });
  after(async () => {
    await database.close();
    d.cleanup();
  });

  test("the first admin: a generated password is printed once on stdout and works", async () => {
    const made = await user("add", "ops", "--admin", "--generate-password", "--display-name", "On Call");
    assert.equal(made.code, 0, made.stderr);
    const password = made.stdout.trim();
    assert.match(password, /^[A-Za-z0-9_-]{24}$/);
    assert.match(made.stderr, /user "ops" \(local, administrator\) made; the password is shown only now/);
    assert.ok(!made.stderr.includes(password), "the password is on stdout only");
    assert.ok(await verifyPassword(await passwordHashOf(database, "ops"), password));
    const stored = await passwordHashOf(database, "ops");
    assert.match(stored ?? "", /^\$argon2id\$/);
    const ops = await findUser(database, "ops");
    assert.equal(ops?.admin, true);
    assert.equal(ops?.display_name, "On Call");
  });

  test("a password from stdin is never echoed; a short one, none, or two sources are bad usage (2)", async () => {
    const made = await cliWithInput(
      ["user", "add", "alice", "--password-stdin", "--config", d.configFile],
      "correct horse battery\n",
    );
    assert.equal(made.code, 0, made.stderr);
    assert.equal(made.stdout, "");
    assert.ok(!made.stderr.includes("correct horse"));
    assert.ok(await verifyPassword(await passwordHashOf(database, "alice"), "correct horse battery"));

    const short = await cliWithInput(
      ["user", "add", "bob", "--password-stdin", "--config", d.configFile],
      "short\n",
    );
    assert.equal(short.code, 2);
    assert.match(short.stderr, /at least 10 characters/);
    const none = await user("add", "bob");
    assert.equal(none.code, 2);
    assert.match(none.stderr, /a local account needs a password/);
    const both = await user("add", "bob", "--password-stdin", "--generate-password");
    assert.equal(both.code, 2);
    assert.equal(await findUser(database, "bob"), null, "none of those made bob");
    const taken = await user("add", "alice", "--generate-password");
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /a user named "alice" exists/);
    assert.equal(taken.stdout, "", "no password printed for an account not made");
    const badName = await user("add", "no spaces", "--generate-password");
    assert.equal(badName.code, 2);
    const ldap = await user("add", "carol", "--provider", "ldap");
    assert.equal(ldap.code, 0, ldap.stderr);
    assert.equal(await passwordHashOf(database, "carol"), null, "an LDAP account has no local password");
  });

  test("grant and revoke an instrument; list shows roles (JSON without a password hash)", async () => {
    assert.equal((await user("add", "sci", "--generate-password")).code, 0);
    const granted = await user("grant", "sci", "--instrument", "mari", "--instrument", "WISH");
    assert.equal(granted.code, 0, granted.stderr);
    assert.match(granted.stdout, /sci is now a scientist of MARI, WISH/);
    const sci = await findUser(database, "sci");
    assert.ok(sci);
    assert.deepEqual((await userGrants(database, sci)).scientistOf.sort(), ["MARI", "WISH"]);
    const unknown = await user("grant", "sci", "--instrument", "NOPE");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown instrument NOPE: it is not in the configuration \(MARI, WISH\)/);
    assert.equal((await user("revoke", "sci", "--instrument", "WISH")).code, 0);
    assert.deepEqual((await userGrants(database, sci)).scientistOf, ["MARI"]);
    assert.equal((await user("grant", "nobody", "--instrument", "MARI")).code, 1, "no such user");

    const listed = await user("list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^USERNAME\s+NAME\s+PROVIDER\s+ROLES\s+STATE\s+LAST SIGN-IN$/m);
    assert.match(listed.stdout, /^ops\s+On Call\s+local\s+admin\s+active\s+never$/m);
    assert.match(listed.stdout, /^sci\s+local\s+scientist:MARI\s+active/m);
    const json = await user("list", "--json");
    assert.doesNotMatch(json.stdout, /argon2|password/);
    const rows = JSON.parse(json.stdout) as Array<{
      username: string;
      scientist_of: string[];
      admin: boolean;
    }>;
    assert.deepEqual(rows.find((r) => r.username === "sci")?.scientist_of, ["MARI"]);
  });

  test("passwd changes a local password and ends the person's sessions", async () => {
    const alice = await findUser(database, "alice");
    assert.ok(alice);
    const session = await createSession(database, alice.id, "local", 3_600_000);
    const changed = await cliWithInput(
      ["user", "passwd", "alice", "--password-stdin", "--config", d.configFile],
      "a new long password\n",
    );
    assert.equal(changed.code, 0, changed.stderr);
    assert.ok(await verifyPassword(await passwordHashOf(database, "alice"), "a new long password"));
    assert.equal(await findSession(database, session.id, 3_600_000), null, "signed out everywhere");
    assert.equal((await user("passwd", "alice")).code, 2, "a password option is needed");
    const ldap = await user("passwd", "carol", "--generate-password");
    assert.equal(ldap.code, 1);
    assert.match(ldap.stderr, /carol signs in with ldap/);
    assert.equal((await user("passwd", "nobody", "--generate-password")).code, 1);
  });

  test("disable, enable and admin --on/--off", async () => {
    assert.equal((await user("disable", "sci")).code, 0);
    const sci = await findUser(database, "sci");
    assert.ok(sci?.disabled_at);
    assert.deepEqual(await userGrants(database, sci), { admin: false, scientistOf: [], memberOf: [] });
    assert.match((await user("list")).stdout, /^sci\s+local\s+scientist:MARI\s+disabled/m);
    assert.equal((await user("enable", "sci")).code, 0);
    assert.equal((await findUser(database, "sci"))?.disabled_at, null);

    assert.equal((await user("admin", "sci", "--on")).code, 0);
    assert.equal((await findUser(database, "sci"))?.admin, true);
    assert.equal((await user("admin", "sci", "--off")).code, 0);
    assert.equal((await findUser(database, "sci"))?.admin, false);
    assert.equal((await user("admin", "sci")).code, 2, "one of --on and --off");
    assert.equal((await user("admin", "sci", "--on", "--off")).code, 2);
    assert.equal((await user("disable", "nobody")).code, 1);
  });

  test("--help exits 0 and says how passwords are given", async () => {
    const help = await cli(["user", "add", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: autoreduce user add[\s\S]*--password-stdin[\s\S]*--generate-password/);
  });
});
