import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { recordHeartbeat } from "../../src/store/heartbeat-store.ts";
import { listRuns } from "../../src/store/run-views.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * An SNS agent's reports carry no attempt number. For a job the sweeper sent again they must
 * still count as the new attempt (from the `retry` they echo), not be dropped as stale.
 */
let stack: Stack;
let coordinator: Coordinator;
let jobs: IncomingMessage[];
let timer: NodeJS.Timeout | undefined;

before(async () => {
  stack = await openStack({
    instruments: { AGENT: { workers: "sns-agent" } },
    sweeper: { interval_seconds: 0.2, start_timeout_seconds: 0.5 },
    heartbeat: { interval_seconds: 0.2, foreign_interval_seconds: 0.2 },
  });
  jobs = await stack.collect(stack.config.queues.reduction_data_ready);
  coordinator = await Coordinator.start({ ...stack, log: silentLogger() });
  const beat = { src_name: "autoreducer2.sns.gov", role: "postprocessing", status: "0", pid: "98" };
  timer = setInterval(() => void recordHeartbeat(stack.database, beat, Date.now()).catch(() => {}), 100);
});
after(async () => {
  clearInterval(timer);
  await coordinator.stop();
  await stack.close();
});

test("an agent's ERROR for the re-sent copy of a lost job is recorded as that attempt's", async () => {
  const dataFile = join(stack.dir, "archive", "AGENT", "IPTS-1", "nexus", "AGENT_8.nxs.h5");
  mkdirSync(join(dataFile, ".."), { recursive: true });
  writeFileSync(dataFile, "raw");
  const send = (queue: string, body: unknown) => stack.transport.send(queue, { body: JSON.stringify(body) });
  await send(stack.config.queues.data_ready, {
    facility: "SNS",
    instrument: "AGENT",
    ipts: "IPTS-1",
    run_number: 8,
    data_file: dataFile,
  });
  // The first copy is taken (by the test) and never started: the sweeper sends it again.
  const again = await waitFor(() => jobs[1], "the job sent again", 30_000);
  const echo: Record<string, unknown> = {
    ...(JSON.parse(again.body) as Record<string, unknown>),
    information: "autoreducer2.sns.gov",
  };
  assert.deepEqual(echo.retry, { attempt: 1, deliveries: 1, history: [] });
  await send(stack.config.queues.reduction_started, echo);
  await send(stack.config.queues.reduction_error, { ...echo, error: "REDUCTION: calibration missing" });
  const view = async () => (await listRuns(stack.database)).find((r) => r.run_number === 8);
  await waitFor(async () => (await view())?.status === "error", "the agent's ERROR recorded", 30_000);
  const run = await view();
  assert.equal(run?.attempts, 2);
  assert.match(run?.message ?? "", /^REDUCTION: calibration missing/);
});
