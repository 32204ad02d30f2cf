import assert from "node:assert/strict";
import { after, test } from "node:test";
import { loadConfig } from "../../src/config/load-config.ts";
import { openStateDatabase } from "../../src/store/state-database.ts";
import { authenticateToken } from "../../src/store/token-store.ts";
import { cli, makeDeployment } from "../helpers/deployment.ts";

const d = makeDeployment();
after(() => d.cleanup());
const token = (...args: string[]) => cli(["token", ...args, "--config", d.configFile]);

test("a token is made with a role, printed once, listed without its secret, and revoked", async () => {
  const made = await token(
    "create",
    "--name",
    "mari-bot",
    "--role",
    "scientist",
    "--instrument",
    "mari",
    "--expires",
    "30",
  );
  assert.equal(made.code, 0, made.stderr);
  const secret = made.stdout.trim();
  assert.match(secret, /^ar_[A-Za-z0-9_-]{43}$/);
  assert.match(made.stderr, /"mari-bot" \(scientist:MARI, expires \d{4}-/);

  const database = await openStateDatabase(loadConfig(d.configFile).database.url);
  try {
    assert.deepEqual(
      { ...(await authenticateToken(database, secret)), id: 0 },
      { id: 0, name: "mari-bot", role: "scientist", instruments: ["MARI"], userId: null },
    );
    const listed = await token("list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /mari-bot\s+scientist:MARI\s+active/);
    assert.ok(!listed.stdout.includes(secret.slice(3, 20)), "no secret in the list");
    assert.ok(!(await token("list", "--json")).stdout.includes(secret.slice(3, 20)), "nor in its JSON");

    const revoked = await token("revoke", "mari-bot");
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(await authenticateToken(database, secret), null);
    assert.match((await token("list")).stdout, /mari-bot\s+scientist:MARI\s+revoked/);
    assert.equal((await token("revoke", "mari-bot")).code, 1, "revoked once");
  } finally {
    await database.close();
  }
});

test("a bad role, a scientist without instruments or a taken name is bad usage (exit 2)", async () => {
  assert.equal((await token("create", "--name", "ops", "--role", "admin")).code, 0);
  for (const args of [
    ["--name", "x", "--role", "root"],
    ["--name", "y", "--role", "scientist"],
    ["--name", "ops", "--role", "read"],
  ]) {
    const result = await token("create", ...args);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, /unknown role|needs its instruments|exists/);
    assert.equal(result.stdout, "", "no token printed");
  }
});
