import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { loadConfig } from "../../src/config/load-config.ts";
import { createJob } from "../../src/store/job-store.ts";
import { openStateDatabase } from "../../src/store/state-database.ts";
import { cli, type Deployment, makeDeployment } from "../helpers/deployment.ts";

let d: Deployment;
let watchJobId = "";
before(async () => {
  d = makeDeployment({ instruments: { TEST: {} } });
  const database = await openStateDatabase(loadConfig(d.configFile).database.url);
  try {
    const watch = await createJob(database, {
      kind: "watch",
      subject: "test-calibration",
      reason: "watch",
      startedBy: "watch:test-calibration",
      arguments: ["--fast"],
      event: { messageId: "w1", destination: "watch", body: "{}" },
    });
    watchJobId = watch.job?.job_id ?? "";
    await createJob(database, { kind: "live", subject: "TEST", reason: "live", startedBy: null });
  } finally {
    await database.close();
  }
});
after(() => d.cleanup());

test("autoreduce jobs --json lists jobs of every kind; --kind keeps one", async () => {
  const all = await cli(["jobs", "--config", d.configFile, "--json"]);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(
    (JSON.parse(all.stdout) as Array<{ kind: string; subject: string }>).map((j) => [j.kind, j.subject]),
    [
      ["live", "TEST"],
      ["watch", "test-calibration"],
    ],
  );
  const watch = await cli(["jobs", "--config", d.configFile, "--kind", "watch", "--json"]);
  assert.deepEqual(
    (JSON.parse(watch.stdout) as Array<{ arguments: unknown }>).map((j) => j.arguments),
    [["--fast"]],
  );
  const table = await cli(["jobs", "--config", d.configFile]);
  assert.match(table.stdout, /KIND\s+SUBJECT\s+STATUS/);
  assert.match(table.stdout, /watch\s+test-calibration\s+queued/);
});

test("autoreduce jobs --job ID shows the job and its events; an unknown id fails (exit 1)", async () => {
  const shown = await cli(["jobs", "--config", d.configFile, "--job", watchJobId, "--json"]);
  assert.equal(shown.code, 0, shown.stderr);
  const detail = JSON.parse(shown.stdout) as {
    job: { job_id: string };
    events: Array<{ destination: string }>;
  };
  assert.equal(detail.job.job_id, watchJobId);
  assert.deepEqual(
    detail.events.map((e) => e.destination),
    ["watch"],
  );
  const missing = await cli(["jobs", "--config", d.configFile, "--job", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no job nope/);
});

test("autoreduce jobs with an unknown kind is bad usage (exit 2) naming the kinds", async () => {
  const result = await cli(["jobs", "--config", d.configFile, "--kind", "calibration"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /reduction, watch, trigger, live/);
});
