import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { startHeartbeat, workerDetails } from "../../src/service/heartbeat.ts";
import { startHeartbeatRecorder } from "../../src/service/heartbeat-recorder.ts";
import { listRuns } from "../../src/store/run-views.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { ReductionWorker } from "../../src/worker/reduction-worker.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * A real worker in the coordinator's process (as in `serve`), with real heartbeats recorded by
 * the coordinator's recorder: a long reduction it runs is never re-queued by an impatient
 * sweeper, while a job nobody holds, swept in the same sweeps, is.
 */
const SLOW = `#!/bin/sh
while [ ! -e "$2/release" ]; do sleep 0.05; done
echo done > "$2/result.txt"
`;
const CONTROL_QUEUE = "/queue/SWEEPER_TEST.CONTROL";
let stack: Stack;
const stops: Array<() => Promise<void>> = [];
let control: IncomingMessage[];

before(async () => {
  stack = await openStack({
    scripts: { file: "reduce_{instrument}.sh", interpreter: "sh" },
    instruments: { SLOW: {}, CTL: {} },
    // CTL's jobs go to a queue that no worker takes: the test takes them off (and holds none).
    routing: [{ name: "control", instrument: "CTL", queue: CONTROL_QUEUE }],
    sweeper: { interval_seconds: 0.2, grace_seconds: 1.5, max_attempts: 5 },
    heartbeat: { interval_seconds: 0.2, stale_seconds: 5, dead_seconds: 10 },
  });
  for (const inst of ["SLOW", "CTL"]) {
    mkdirSync(join(stack.config.scripts.root, inst), { recursive: true });
    writeFileSync(join(stack.config.scripts.root, inst, `reduce_${inst}.sh`), SLOW);
  }
  control = await stack.collect(CONTROL_QUEUE);
  const log = silentLogger();
  const recorder = await startHeartbeatRecorder({ ...stack, log });
  const coordinator = await Coordinator.start({ ...stack, log });
  const worker = await ReductionWorker.start({ ...stack, log, host: "node1" });
  const heartbeat = await startHeartbeat({
    ...stack,
    log,
    kind: "worker",
    host: "node1",
    details: () => workerDetails(worker),
  });
  stops.push(
    () => heartbeat.stop(),
    () => worker.stop(0),
    () => coordinator.stop(),
    () => recorder.stop(),
  );
});
after(async () => {
  for (const stop of stops) await stop();
  await stack.close();
});

const submit = async (instrument: string, run: number) => {
  const dataFile = join(stack.dir, "archive", instrument, "IPTS-1", `${instrument}_${run}.nxs.h5`);
  mkdirSync(join(dataFile, ".."), { recursive: true });
  writeFileSync(dataFile, "raw");
  const body = { facility: "SNS", instrument, ipts: "IPTS-1", run_number: run, data_file: dataFile };
  await stack.transport.send(stack.config.queues.data_ready, { body: JSON.stringify(body) });
};
const view = async (instrument: string) => (await listRuns(stack.database, { instrument }))[0];

test("a reduction a live worker runs for longer than the grace period is not re-queued; one nobody holds is", async () => {
  await submit("SLOW", 1);
  const running = await waitFor(
    async () => (await view("SLOW"))?.status === "running",
    "SLOW running",
    30_000,
  );
  assert.ok(running);
  // A control job reported started by a worker on node1 that does not hold it (a lost report).
  await submit("CTL", 2);
  const job = JSON.parse((await waitFor(() => control[0], "the control job", 30_000)).body);
  await stack.transport.send(stack.config.queues.reduction_started, {
    body: JSON.stringify({ ...job, host: "node1", attempt: 1 }),
  });
  await waitFor(() => control[1], "the control job re-queued by the sweeper", 30_000);

  // The sweeps that re-queued the control job judged the longer-running SLOW job too.
  const slow = await view("SLOW");
  assert.deepEqual([slow?.status, slow?.attempts, slow?.message], ["running", 1, null]);
  writeFileSync(join(slow?.output_dir ?? "", "release"), "");
  await waitFor(async () => (await view("SLOW"))?.status === "completed", "SLOW completed", 30_000);
  assert.equal((await view("SLOW"))?.attempts, 1, "ran once");
});
