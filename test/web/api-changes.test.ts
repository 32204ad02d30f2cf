import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { silentLogger } from "../../src/logging/logger.ts";
import { recordReadyRun } from "../../src/store/run-store.ts";
import { startApiServer } from "../../src/web/api-server.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";

describe("JSON API: changes need the server's token and are checked like the CLI's", () => {
  let stack: Stack;
  let app: FastifyInstance;
  let url = "";
  let closedApp: FastifyInstance;
  let closedUrl = "";
  const post = (base: string, path: string, body: unknown, token?: string) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  before(async () => {
    stack = await openStack({ instruments: { MARI: {} } });
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
    ({ app, url } = await startApiServer({
      ...stack,
      log: silentLogger(),
      host: "127.0.0.1",
      port: 0,
      token: "s3cret-token",
    }));
    ({ app: closedApp, url: closedUrl } = await startApiServer({
      ...stack,
      log: silentLogger(),
      host: "127.0.0.1",
      port: 0,
    }));
  });
  after(async () => {
    await app.close();
    await closedApp.close();
    await stack.close();
  });

  test("without a configured token changes are off (403); a wrong token is refused (401)", async () => {
    const off = await post(closedUrl, "/api/v1/runs/MARI/rerun", { runs: "10" }, "anything");
    assert.equal(off.status, 403);
    assert.match(((await off.json()) as { error: string }).error, /AUTOREDUCE_API_TOKEN/);
    assert.equal((await post(url, "/api/v1/runs/MARI/rerun", { runs: "10" }, "wrong-token!")).status, 401);
    assert.equal((await post(url, "/api/v1/runs/MARI/rerun", { runs: "10" })).status, 401);
  });

  test("a re-run preview over a range says what would be queued and what not", async () => {
    const response = await post(
      url,
      "/api/v1/runs/MARI/rerun",
      { runs: "9-10", dry_run: true },
      "s3cret-token",
    );
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      queue: [10],
      refused: [{ run_number: 9, reason: "never reduced (submit its file instead)" }],
    });
    const capped = await post(
      url,
      "/api/v1/runs/MARI/rerun",
      { runs: "1-30", role: "user", dry_run: true },
      "s3cret-token",
    );
    assert.equal(capped.status, 422);
  });

  test("a variable set through the API is typed like the CLI's, and bad input is a 400 or 422 with the reason", async () => {
    const ok = await post(
      url,
      "/api/v1/instruments/MARI/variables",
      { from_run: 11, values: { bins: "250" }, by: "alice" },
      "s3cret-token",
    );
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { id: 2, affected: [] });
    const sets = (await (await fetch(`${url}/api/v1/instruments/MARI/variables`)).json()) as {
      sets: Array<{ values: unknown; created_by: string }>;
    };
    assert.deepEqual(sets.sets.at(-1)?.values, { standard_vars: { bins: 250 }, advanced_vars: {} });
    assert.equal(sets.sets.at(-1)?.created_by, "alice");
    const wrongType = await post(
      url,
      "/api/v1/instruments/MARI/variables",
      { from_run: 11, values: { bins: "lots" } },
      "s3cret-token",
    );
    assert.equal(wrongType.status, 422);
    assert.match(((await wrongType.json()) as { error: string }).error, /bins: expected an integer/);
    const badBody = await post(
      url,
      "/api/v1/instruments/MARI/variables",
      { from_run: -1, values: {}, extra: 1 },
      "s3cret-token",
    );
    assert.equal(badBody.status, 400);
  });
});
