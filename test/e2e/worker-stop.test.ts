import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  cli,
  type Daemon,
  type Deployment,
  makeDeployment,
  startDaemon,
  waitForRun,
} from "../helpers/deployment.ts";

// Waits for a release file before finishing: the test decides when.
const WAITS_FOR_RELEASE = `import sys, os, time
data, out = sys.argv[1], sys.argv[2]
while not os.path.exists(os.path.join(out, "release")):
    time.sleep(0.05)
with open(os.path.join(out, "result.txt"), "w") as f:
    f.write("done")
`;

const deployments: Deployment[] = [];
const daemons: Daemon[] = [];
after(async () => {
  for (const daemon of daemons) await daemon.kill();
  for (const d of deployments) d.cleanup();
});

async function runningJob(graceSeconds: number, run: number) {
  const d = makeDeployment({ instruments: { STOP: {} }, worker: { stop_grace_seconds: graceSeconds } });
  deployments.push(d);
  d.writeScript("STOP", WAITS_FOR_RELEASE);
  const coordinator = startDaemon(["coordinator", "--config", d.configFile]);
  const worker = startDaemon(["worker", "--config", d.configFile]);
  daemons.push(coordinator, worker);
  const file = await d.writeRun("STOP", run);
  const sent = await cli(["submit", "--config", d.configFile, "--file", file]);
  assert.equal(sent.code, 0, sent.stderr);
  const running = await waitForRun(
    d.configFile,
    (r) => r.run_number === run && r.status === "running",
    "running",
  );
  return { d, worker, outDir: running.output_dir ?? "" };
}

test("SIGTERM with a running job: the job completes within the grace period and the worker exits 0", async () => {
  const { d, worker, outDir } = await runningJob(30, 21);
  const exited = worker.stop();
  writeFileSync(join(outDir, "release"), "");
  assert.equal(await exited, 0, worker.output());
  const done = await waitForRun(
    d.configFile,
    (r) => r.run_number === 21 && r.status === "completed",
    "completed",
  );
  assert.equal(done.attempts, 1);
  assert.ok(existsSync(join(outDir, "result.txt")));
});

test("SIGTERM past the grace period: the job is handed back, recorded as interrupted, and re-run by another worker", async () => {
  const { d, worker, outDir } = await runningJob(0.5, 22);
  assert.equal(await worker.stop(), 0, worker.output());
  const queued = await waitForRun(
    d.configFile,
    (r) => r.run_number === 22 && r.status === "queued",
    "handed back",
  );
  assert.match(
    queued.message ?? "",
    /attempt 1 was interrupted: worker on .* stopped; the job is back in the queue/,
  );
  writeFileSync(join(outDir, "release"), "");
  const second = startDaemon(["worker", "--config", d.configFile]);
  daemons.push(second);
  const done = await waitForRun(
    d.configFile,
    (r) => r.run_number === 22 && r.status === "completed",
    "completed",
  );
  assert.equal(done.attempts, 2, "the interrupted attempt is counted");
});
