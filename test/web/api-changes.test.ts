import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { silentLogger } from "../../src/logging/logger.ts";
import { recordReadyRun } from "../../src/store/run-store.ts";
import { createToken, listTokens, revokeToken } from "../../src/store/token-store.ts";
import { parseBrokers } from "../../src/transport/stomp/broker-list.ts";
import { StompTransport } from "../../src/transport/stomp/stomp-transport.ts";
import { startWebServer } from "../../src/web/web-server.tsx";
import { openStack, type Stack } from "../helpers/in-process.ts";

describe("JSON API: changes need a holder's token whose role covers the instrument", () => {
  let stack: Stack;
  let app: FastifyInstance;
  let url = "";
  const tokens: Record<string, string> = {};
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  before(async () => {
    stack = await openStack({ instruments: { MARI: {}, WISH: {} } });
    const dir = join(stack.config.scripts.root, "MARI");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "reduce_MARI.py"), "print('x')\n");
    writeFileSync(join(dir, "reduce_vars.py"), "standard_vars = {'bins': 100}\nadvanced_vars = {}\n");
    await recordReadyRun(stack.database, {
      facility: "SNS",
      instrument: "MARI",
      experiment: "RB1",
      runNumber: 10,
      dataFile: "/x/MARI_10.nxs",
      title: null,
      startTime: null,
      endTime: null,
      metadata: {},
      messageId: "m10",
      destination: "/queue/POSTPROCESS.DATA_READY",
      body: "{}",
      dedupeKey: null,
      reason: "automatic",
      startedBy: null,
      outputDir: () => "/out",
      initial: { status: "completed", message: "" },
    });
    const make = async (name: string, role: string, expiresAt?: number) =>
      (await createToken(stack.database, { name, role, expiresAt: expiresAt ?? null })).token;
    tokens.admin = await make("ops-admin", "admin");
    tokens.mari = await make("mari-scientist", "scientist:MARI");
    tokens.wish = await make("wish-scientist", "scientist:WISH");
    tokens.read = await make("dashboard", "read");
    tokens.expired = await make("old-admin", "admin", Date.now() - 1000);
    tokens.revoked = await make("gone-admin", "admin");
    await revokeToken(stack.database, "gone-admin");
    tokens.unknown = "ar_this-token-was-never-made-by-anyone-at-all-1234";
    ({ app, url } = await startWebServer({
      ...stack,
      log: silentLogger(),
      host: "127.0.0.1",
      port: 0,
    }));
  });
  after(async () => {
    await app.close();
    await stack.close();
  });

  // Each row: a route that changes MARI, and the status per token. A permitted cancel is 422
  // (run 10 has nothing running): past the permission check, refused by the operation itself.
  const routes: Array<[string, unknown, number]> = [
    ["/api/v1/runs/MARI/rerun", { runs: "10", dry_run: true }, 200],
    ["/api/v1/instruments/MARI/variables", { from_run: 11, values: { bins: "250" } }, 200],
    ["/api/v1/runs/MARI/10/cancel", {}, 422],
    ["/api/v1/instruments/MARI/pause", {}, 200],
    ["/api/v1/instruments/MARI/resume", {}, 200],
  ];
  const expected: Record<string, (allowed: number) => number> = {
    admin: (allowed) => allowed,
    mari: (allowed) => allowed,
    wish: () => 403,
    read: () => 403,
    expired: () => 401,
    revoked: () => 401,
    unknown: () => 401,
    none: () => 401,
    shared: () => 401,
  };
  for (const [holder, outcome] of Object.entries(expected)) {
    test(`route × token: ${holder}`, async () => {
      for (const [path, body, allowed] of routes) {
        const token =
          holder === "none" ? undefined : holder === "shared" ? "the-old-shared-token" : tokens[holder];
        const response = await post(path, body, token);
        assert.equal(response.status, outcome(allowed), `${holder} on ${path}: ${await response.text()}`);
      }
    });
  }

  test("a 401 says how to get a token and asks for Bearer; a 403 names the token and the instrument", async () => {
    const none = await post("/api/v1/runs/MARI/rerun", { runs: "10", dry_run: true });
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="autoreduce"');
    assert.match(((await none.json()) as { error: string }).error, /autoreduce token create/);
    const other = await post("/api/v1/runs/MARI/rerun", { runs: "10", dry_run: true }, tokens.wish);
    assert.match(((await other.json()) as { error: string }).error, /wish-scientist.*MARI/);
  });

  test("who and which role come from the token: the body may not claim them", async () => {
    for (const claim of [{ role: "admin" }, { started_by: "someone-else" }]) {
      const response = await post(
        "/api/v1/runs/MARI/rerun",
        { runs: "10", dry_run: true, ...claim },
        tokens.mari,
      );
      assert.equal(response.status, 400, JSON.stringify(claim));
    }
    const byClaim = await post(
      "/api/v1/instruments/MARI/variables",
      { from_run: 12, values: { bins: "5" }, by: "someone-else" },
      tokens.mari,
    );
    assert.equal(byClaim.status, 400);
    const response = await post("/api/v1/runs/MARI/rerun", { runs: "10" }, tokens.mari);
    assert.equal(response.status, 200);
    const [request] = await stack.transport.browse(stack.config.queues.reduction_request, 10);
    const sent = JSON.parse(request?.body ?? "{}") as { started_by?: string; role?: string };
    assert.deepEqual([sent.started_by, sent.role], ["mari-scientist", "staff"]);
    const set = await post(
      "/api/v1/instruments/MARI/variables",
      { from_run: 13, values: { bins: "7" } },
      tokens.mari,
    );
    assert.equal(set.status, 200);
    const sets = (await (
      await fetch(`${url}/api/v1/instruments/MARI/variables`, {
        headers: { authorization: `Bearer ${tokens.mari}` },
      })
    ).json()) as {
      sets: Array<{ created_by: string }>;
    };
    assert.equal(sets.sets.at(-1)?.created_by, "mari-scientist");
  });

  test("a re-run from a version the run does not have is refused for that run, with the reason", async () => {
    const response = await post(
      "/api/v1/runs/MARI/rerun",
      { runs: "10", from_version: 7, dry_run: true },
      tokens.mari,
    );
    assert.equal(response.status, 200);
    const preview = (await response.json()) as {
      queue: number[];
      refused: Array<{ run_number: number; reason: string }>;
    };
    assert.deepEqual(preview.queue, []);
    assert.deepEqual(preview.refused, [{ run_number: 10, reason: "it has no version 7 (its latest is 0)" }]);
    const fine = (await (
      await post("/api/v1/runs/MARI/rerun", { runs: "10", from_version: 0, dry_run: true }, tokens.mari)
    ).json()) as { queue: number[] };
    assert.deepEqual(fine.queue, [10]);
  });

  test("a change the broker cannot take now is a 503 with the reason, to be tried again", async () => {
    const unreachable = await StompTransport.open({
      brokers: parseBrokers("127.0.0.1:1"),
      flavour: "activemq",
      maxDeliveries: 5,
      reconnectInitialMs: 100,
      reconnectMaxMs: 1000,
      sendTimeoutMs: 1000,
      onError: () => {},
      onConnectionChange: () => {},
    });
    const other = await startWebServer({
      ...stack,
      transport: unreachable,
      log: silentLogger(),
      host: "127.0.0.1",
      port: 0,
    });
    try {
      const response = await fetch(`${other.url}/api/v1/runs/MARI/rerun`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${tokens.admin}` },
        body: JSON.stringify({ runs: "10" }),
      });
      assert.equal(response.status, 503);
      assert.equal(response.headers.get("retry-after"), "30");
      assert.match(((await response.json()) as { error: string }).error, /no connection to a broker/);
    } finally {
      await other.app.close();
      await unreachable.close();
    }
  });

  test("the re-run cap follows the token's role, and bad input is a 400 or 422 with the reason", async () => {
    assert.equal(
      (await post("/api/v1/runs/MARI/rerun", { runs: "1-30", dry_run: true }, tokens.admin)).status,
      200,
    );
    const preview = await post("/api/v1/runs/MARI/rerun", { runs: "9-10", dry_run: true }, tokens.admin);
    assert.deepEqual(await preview.json(), {
      queue: [10],
      refused: [{ run_number: 9, reason: "never reduced (submit its file instead)" }],
    });
    const wrongType = await post(
      "/api/v1/instruments/MARI/variables",
      { from_run: 11, values: { bins: "lots" } },
      tokens.mari,
    );
    assert.equal(wrongType.status, 422);
    assert.match(((await wrongType.json()) as { error: string }).error, /bins: expected an integer/);
    const badBody = await post(
      "/api/v1/instruments/MARI/variables",
      { from_run: -1, values: {}, extra: 1 },
      tokens.mari,
    );
    assert.equal(badBody.status, 400);
  });

  test("an accepted token's use is recorded; nothing lists its secret", async () => {
    const used = (await listTokens(stack.database)).find((t) => t.name === "mari-scientist");
    assert.ok(used?.last_used_at, "last_used_at set");
    assert.ok(!JSON.stringify(await listTokens(stack.database)).includes(tokens.mari ?? "?"));
  });
});
