import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  cli,
  type Daemon,
  type Deployment,
  makeDeployment,
  runsJson,
  startDaemon,
  waitForRun,
} from "../helpers/deployment.ts";
import { waitFor } from "../helpers/wait-for.ts";

const REDUCE = `import sys, os, json
data, out = sys.argv[1], sys.argv[2]
print("reducing", data)
with open(os.path.join(out, os.path.basename(data) + ".reduced.txt"), "w") as f:
    f.write(json.dumps({"input": data}))
`;
const FAIL = `import sys
print("about to fail", file=sys.stderr)
raise ValueError("calibration file missing for this run")
`;

describe("end to end: serve on the embedded default (real processes, real files)", () => {
  let d: Deployment;
  let serve: Daemon;
  let api = "";
  let auth: Record<string, string> = {};

  const startServe = async () => {
    serve = startDaemon(["serve", "--config", d.configFile]);
    api =
      (await waitFor(
        () => /web: open (http:\/\/\S+)\/ /.exec(serve.output())?.[1],
        "the API address",
        20_000,
      )) ?? "";
  };

  before(async () => {
    d = makeDeployment({ instruments: { TEST: {}, FAIL: {}, NOSCRIPT: {} } });
    d.writeScript("TEST", REDUCE);
    d.writeScript("FAIL", FAIL);
    await startServe();
    // Reads need credentials (no instrument here is open to anonymous readers): a read token.
    const made = await cli([
      "token",
      "create",
      "--config",
      d.configFile,
      "--name",
      "e2e-reader",
      "--role",
      "read",
    ]);
    assert.equal(made.code, 0, made.stderr);
    auth = { authorization: `Bearer ${made.stdout.trim()}` };
  });
  after(async () => {
    await serve.stop();
    d.cleanup();
  });

  test("a NeXus file dropped into the archive is reduced end to end", async () => {
    const file = await d.writeRun("TEST", 1);
    const run = await waitForRun(
      d.configFile,
      (r) => r.run_number === 1 && r.status === "completed",
      "run 1 completed",
    );
    assert.equal(run.version, 0);
    assert.equal(run.experiment, "IPTS-1234");
    assert.equal(run.data_file, file);
    assert.equal(run.title, "test run 1", "title read from the NeXus file");
    assert.ok(existsSync(join(run.output_dir ?? "", "TEST_1.nxs.h5.reduced.txt")));
    assert.match(readFileSync(run.log_file ?? "", "utf8"), /reducing/);

    const fromApi = (await (await fetch(`${api}/api/v1/runs`, { headers: auth })).json()) as Array<
      Record<string, unknown>
    >;
    const fromCli = await runsJson(d.configFile);
    assert.deepEqual(
      fromApi.find((r) => r.run_number === 1),
      fromCli.find((r) => r.run_number === 1) as unknown,
    );
    const detail = (await (await fetch(`${api}/api/v1/runs/TEST/1`, { headers: auth })).json()) as {
      events: Array<{ destination: string }>;
    };
    assert.deepEqual(
      detail.events.map((e) => e.destination),
      [
        "/queue/POSTPROCESS.DATA_READY",
        "/queue/REDUCTION.DATA_READY",
        "/queue/REDUCTION.STARTED",
        "/queue/REDUCTION.COMPLETE",
      ],
    );
  });

  test("an instrument without a script is disabled; a failing script is an error with its stderr", async () => {
    await d.writeRun("NOSCRIPT", 5);
    await d.writeRun("FAIL", 6);
    const disabled = await waitForRun(
      d.configFile,
      (r) => r.run_number === 5 && r.status === "disabled",
      "run 5 disabled",
    );
    assert.match(disabled.message ?? "", /no reduction script/);
    const failed = await waitForRun(
      d.configFile,
      (r) => r.run_number === 6 && r.status === "error",
      "run 6 error",
    );
    assert.match(failed.message ?? "", /ValueError: calibration file missing for this run/);
    assert.match(failed.message ?? "", /about to fail/, "the last stderr lines are part of the reason");
  });

  test("runs written while the service was stopped are reduced after it starts", async () => {
    assert.equal(await serve.stop(), 0, "serve exits cleanly on SIGTERM");
    await d.writeRun("TEST", 2);
    await d.writeRun("TEST", 3);
    await startServe();
    for (const n of [2, 3]) {
      await waitForRun(
        d.configFile,
        (r) => r.run_number === n && r.status === "completed",
        `run ${n} completed`,
      );
    }
    const all = await runsJson(d.configFile, true);
    assert.equal(
      all.filter((r) => r.instrument === "TEST").length,
      3,
      "one version per run, nothing re-announced",
    );
  });

  test("bad requests to the API get a 400 with the reason", async () => {
    const response = await fetch(`${api}/api/v1/runs?limit=abc`, { headers: auth });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { detail: string }).detail, /limit/);
    assert.equal((await fetch(`${api}/api/v1/runs/TEST/999`, { headers: auth })).status, 404);
    assert.equal(
      (await fetch(`${api}/api/v1/runs`)).status,
      401,
      "no credentials, nothing open to anonymous readers",
    );
  });
});
