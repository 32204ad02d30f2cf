import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { ReductionSweeper } from "../../src/coordinator/reduction-sweeper.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { recordHeartbeat } from "../../src/store/heartbeat-store.ts";
import { listRuns } from "../../src/store/run-views.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The sweeper driven sweep by sweep on its own clock (the coordinator's periodic sweeper is off):
 * a worker report waiting in its queue puts every sweep off, so a job whose worker died is not
 * re-queued while its COMPLETE may still be in the backlog.
 */
const BACKLOG = "/queue/SWEEPER_TEST.COMPLETE_BACKLOG";
let stack: Stack;
let coordinator: Coordinator;
let jobs: IncomingMessage[];

before(async () => {
  stack = await openStack({ instruments: { DEMO: {} }, sweeper: { interval_seconds: 0 } });
  mkdirSync(join(stack.config.scripts.root, "DEMO"), { recursive: true });
  writeFileSync(join(stack.config.scripts.root, "DEMO", "reduce_DEMO.py"), "print('reducing')\n");
  jobs = await stack.collect(stack.config.queues.reduction_data_ready);
  coordinator = await Coordinator.start({ ...stack, log: silentLogger() });
});
after(async () => {
  await coordinator.stop();
  await stack.close();
});

test("while worker reports wait in their queue, the sweeper judges nothing; once they are recorded it does", async () => {
  const dataFile = join(stack.dir, "archive", "DEMO", "IPTS-1", "nexus", "DEMO_4.nxs.h5");
  mkdirSync(join(dataFile, ".."), { recursive: true });
  writeFileSync(dataFile, "raw");
  const run = { facility: "SNS", instrument: "DEMO", ipts: "IPTS-1", run_number: 4, data_file: dataFile };
  await stack.transport.send(stack.config.queues.data_ready, { body: JSON.stringify(run) });
  const job = JSON.parse((await waitFor(() => jobs[0], "the job")).body) as Record<string, unknown>;
  await stack.transport.send(stack.config.queues.reduction_started, {
    body: JSON.stringify({ ...job, host: "node9", attempt: 1 }),
  });
  const status = async () => (await listRuns(stack.database))[0]?.status;
  await waitFor(async () => (await status()) === "running", "running");

  // node9 took the job and died; node2 lives. The sweeper's clock runs minutes ahead.
  const t0 = Date.now();
  const beat = (host: string, pid: number, running: string[], at: number) =>
    recordHeartbeat(
      stack.database,
      { src_name: host, role: "postprocessing", status: "0", pid: String(pid), kind: "worker", running },
      at,
    );
  await beat("node9", 9, [String(job.job_id)], t0);
  let clock = t0 + 5 * 60_000;
  const sent: string[] = [];
  // The backlog stands in for the COMPLETE queue, which the running coordinator would drain.
  const config = { ...stack.config, queues: { ...stack.config.queues, reduction_complete: BACKLOG } };
  const sweeper = new ReductionSweeper({
    ...stack,
    config,
    log: silentLogger(),
    now: () => clock,
    dispatch: async (r) => {
      sent.push(r.job_id);
    },
    changed: () => {},
  });
  const sweepAt = async (ms: number) => {
    clock = ms;
    await beat("node2", 2, [], ms);
    await sweeper.sweep();
  };

  await stack.transport.send(BACKLOG, { body: JSON.stringify({ ...job, host: "node9", attempt: 1 }) });
  await sweepAt(t0 + 5 * 60_000);
  await sweepAt(t0 + 6 * 60_000);
  await sweepAt(t0 + 7 * 60_000);
  assert.deepEqual([await status(), sent], ["running", []], "nothing judged while a report waits");

  const drained = await stack.collect(BACKLOG);
  await waitFor(() => drained.length === 1, "the backlog drained");
  await sweepAt(t0 + 8 * 60_000); // sees it unheld
  await sweepAt(t0 + 9 * 60_000); // its worker is gone: re-queued
  assert.deepEqual([await status(), sent], ["queued", [job.job_id]]);
  assert.match(
    (await listRuns(stack.database))[0]?.message ?? "",
    /^worker node9:9 stopped sending heartbeats at \S+; the job was re-queued \(attempt 2\)$/,
  );
});
