import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { cli, type Deployment, makeDeployment } from "../helpers/deployment.ts";

let d: Deployment;
before(() => {
  d = makeDeployment({ instruments: { TEST: {} } });
});
after(() => d.cleanup());

test("autoreduce route add --executor keeps the executor; route list shows it; an unknown one is refused", async () => {
  const added = await cli([
    "route",
    "add",
    "calib",
    "--config",
    d.configFile,
    "--instrument",
    "TEST",
    "--queue",
    "/queue/CALIB.DATA_READY",
    "--executor",
    "local",
  ]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /run with executor local/);
  const listed = await cli(["route", "list", "--config", d.configFile, "--json"]);
  assert.deepEqual(
    (JSON.parse(listed.stdout) as Array<{ name: string; executor: string | null }>).map((r) => [
      r.name,
      r.executor,
    ]),
    [["calib", "local"]],
  );
  const table = await cli(["route", "list", "--config", d.configFile]);
  assert.match(table.stdout, /EXECUTOR/);
  assert.match(table.stdout, /calib\s.*\/queue\/CALIB\.DATA_READY\s+local/);
  const bad = await cli([
    "route",
    "add",
    "bad",
    "--config",
    d.configFile,
    "--instrument",
    "TEST",
    "--queue",
    "/queue/X",
    "--executor",
    "cloud",
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--executor cloud is not an executor \(known: local\)/);
});

test("autoreduce route add --workers sns-agent keeps who serves the queue; route list shows it; a bad kind is refused", async () => {
  const added = await cli([
    "route",
    "add",
    "agents",
    "--config",
    d.configFile,
    "--instrument",
    "TEST",
    "--queue",
    "/queue/REDUCTION.HIMEM.DATA_READY",
    "--workers",
    "sns-agent",
  ]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /served by sns-agent/);
  const listed = await cli(["route", "list", "--config", d.configFile, "--json"]);
  const rules = JSON.parse(listed.stdout) as Array<{ name: string; workers: string | null }>;
  assert.equal(rules.find((r) => r.name === "agents")?.workers, "sns-agent");
  const table = await cli(["route", "list", "--config", d.configFile]);
  assert.match(table.stdout, /agents\s.*HIMEM\.DATA_READY\s+-\s+sns-agent/);
  const bad = await cli([
    "route",
    "add",
    "bad",
    "--config",
    d.configFile,
    "--instrument",
    "TEST",
    "--queue",
    "/queue/X",
    "--workers",
    "slurm",
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--workers slurm is not autoreduce or sns-agent/);
});
