import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import type { ConfigInput } from "../../src/config/config-schema.ts";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { listRouteRules, saveRouteRule } from "../../src/store/routing-store.ts";
import { listRuns, type RunView, runEvents } from "../../src/store/run-views.ts";
import { ReductionWorker } from "../../src/worker/reduction-worker.ts";
import { openStack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

const OK = `#!/bin/sh
echo "reduced $1" > "$2/out_$AUTOREDUCE_RUN_NUMBER.txt"
`;

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** A coordinator and the given workers (by host name and config overrides) on one embedded stack. */
async function pipeline(
  config: ConfigInput,
  scripts: Record<string, string>,
  workers: Record<string, ConfigInput["worker"]>,
) {
  const stack = await openStack({
    scripts: { file: "reduce_{instrument}.sh", interpreter: "sh" },
    ...config,
    instruments: Object.fromEntries(Object.keys(scripts).map((i) => [i, {}])),
  });
  cleanup.push(() => stack.close());
  for (const [inst, text] of Object.entries(scripts)) {
    mkdirSync(join(stack.config.scripts.root, inst), { recursive: true });
    writeFileSync(
      join(stack.config.scripts.root, inst, stack.config.scripts.file.replace("{instrument}", inst)),
      text,
    );
  }
  const coordinator = await Coordinator.start({ ...stack, log: silentLogger() });
  cleanup.push(() => coordinator.stop());
  for (const [host, worker] of Object.entries(workers)) {
    const own = { ...stack.config, worker: { ...stack.config.worker, ...worker } } as typeof stack.config;
    const started = await ReductionWorker.start({
      config: own,
      transport: stack.transport,
      log: silentLogger(),
      host,
    });
    cleanup.push(() => started.stop(0));
  }
  // RETRYING reports as the coordinator recorded them (a second consumer of the queue would steal them).
  const retrying = async (instrument: string, runNumber: number) =>
    (await runEvents(stack.database, instrument, runNumber))
      .filter((e) => e.destination === stack.config.queues.reduction_retrying)
      .map((e) => e.body as Record<string, unknown>);
  const submit = async (instrument: string, run: number, metadata: Record<string, unknown> = {}) => {
    const dataFile = join(stack.dir, "archive", instrument, "IPTS-1", `${instrument}_${run}.nxs.h5`);
    mkdirSync(join(dataFile, ".."), { recursive: true });
    writeFileSync(dataFile, "raw");
    await stack.transport.send(stack.config.queues.data_ready, {
      body: JSON.stringify({
        facility: "SNS",
        instrument,
        ipts: "IPTS-1",
        run_number: run,
        data_file: dataFile,
        metadata,
      }),
    });
  };
  const run = (instrument: string, runNumber: number, status: (r: RunView) => boolean, what: string) =>
    waitFor(
      async () => (await listRuns(stack.database, { instrument, runNumber }))[0] ?? null,
      what,
      20_000,
    ).then(() =>
      waitFor(
        async () => {
          const [view] = await listRuns(stack.database, { instrument, runNumber });
          return view && status(view) ? view : null;
        },
        what,
        20_000,
      ),
    );
  return { stack, submit, run, retrying };
}

test("an unwritable output folder: retrying with a growing delay, then completed once it is writable", async () => {
  const p = await pipeline(
    { worker: { retry: { attempts: 10, initial_seconds: 0.2, max_seconds: 5 } } },
    { RETRY: OK },
    { node1: {} },
  );
  // A file where the experiment's folder should be: the output folder cannot be created.
  const blocker = join(p.stack.config.output.root, "RETRY", "IPTS-1");
  mkdirSync(join(blocker, ".."), { recursive: true });
  writeFileSync(blocker, "in the way");
  await p.submit("RETRY", 1);
  const waiting = await p.run("RETRY", 1, (r) => r.status === "retrying", "status retrying");
  // Under load the first look may already see a later attempt: the delay must fit its number.
  const seen = /cannot be created or written .*attempt (\d+) of 10; trying again in (\d+) ms/.exec(
    waiting.message ?? "",
  );
  assert.ok(seen, `the reason and the next attempt are shown: ${waiting.message}`);
  assert.equal(Number(seen[2]), Math.min(5000, 200 * 2 ** (Number(seen[1]) - 1)));
  assert.ok(waiting.retry_at, "the next attempt's time is recorded");
  const reports = await waitFor(async () => {
    const found = await p.retrying("RETRY", 1);
    return found.length >= 3 ? found : null;
  }, "three retries");
  const delays = reports.map((b) => Number(b.retry_delay_ms));
  assert.deepEqual(delays.slice(0, 3), [200, 400, 800], "the delay doubles");
  rmSync(blocker);
  const done = await p.run("RETRY", 1, (r) => r.status === "completed", "completed after the fix");
  assert.ok(done.attempts >= 4, `attempts counted: ${done.attempts}`);
  assert.equal(done.retry_at, null);
});

test("a job that can never start gives up after the configured attempts, with the history", async () => {
  const p = await pipeline(
    { worker: { retry: { attempts: 3, initial_seconds: 0.1, max_seconds: 1 } } },
    { NOPY: OK },
    { node1: {} },
  );
  const blocker = join(p.stack.config.output.root, "NOPY");
  mkdirSync(p.stack.config.output.root, { recursive: true });
  writeFileSync(blocker, "in the way");
  await p.submit("NOPY", 7);
  const failed = await p.run("NOPY", 7, (r) => r.status === "error", "error after retries");
  assert.match(
    failed.message ?? "",
    /^REDUCTION: gave up after 3 attempts: output folder .* cannot be created or written/,
  );
  assert.match(failed.message ?? "", /attempts:\n {2}1\. .* on node1: output folder[\s\S]*\n {2}3\. /);
  assert.equal((await p.retrying("NOPY", 7)).length, 2, "two retries before giving up");
});

test("a run whose title matches the high-memory rule is reduced only by the worker on the HIMEM queue", async () => {
  const HIMEM = "/queue/REDUCTION.HIMEM.DATA_READY";
  const p = await pipeline(
    { routing: [{ name: "himem", title: "HIMEM", queue: HIMEM }] },
    { ROUTE: OK },
    { "small-node": {}, "big-node": { queues: [HIMEM] } },
  );
  for (let run = 1; run <= 3; run++)
    await p.submit("ROUTE", run, { title: run === 2 ? "powder HIMEM" : "vanadium" });
  const views = await Promise.all(
    [1, 2, 3].map((run) => p.run("ROUTE", run, (r) => r.status === "completed", `run ${run} completed`)),
  );
  assert.deepEqual(
    views.map((v) => [v.run_number, v.host, v.queue, v.route]),
    [
      [1, "small-node", "/queue/REDUCTION.DATA_READY", null],
      [2, "big-node", HIMEM, "himem"],
      [3, "small-node", "/queue/REDUCTION.DATA_READY", null],
    ],
  );
});

test("a routing rule naming an executor: the job carries it by name, signed, and runs with it", async () => {
  const p = await pipeline({}, { EXEC: OK, PLAIN: OK }, { node1: {} });
  await saveRouteRule(p.stack.database, {
    name: "exec-local",
    priority: 1,
    instrument: "EXEC",
    queue: p.stack.config.queues.reduction_data_ready,
    executor: "local",
    created_by: "test",
  });
  assert.equal((await listRouteRules(p.stack.database))[0]?.executor, "local", "the rule keeps its executor");
  await p.submit("EXEC", 1);
  await p.submit("PLAIN", 1);
  const routed = await p.run("EXEC", 1, (r) => r.status === "completed", "EXEC completed");
  const plain = await p.run("PLAIN", 1, (r) => r.status === "completed", "PLAIN completed");
  assert.deepEqual([routed.route, routed.executor], ["exec-local", "local"]);
  const sent = async (instrument: string) =>
    (await runEvents(p.stack.database, instrument, 1))
      .filter((e) => e.destination === p.stack.config.queues.reduction_data_ready)
      .map((e) => e.body as Record<string, unknown>);
  const [job] = await sent("EXEC");
  assert.equal(job?.executor, "local", "the job message names the route's executor");
  assert.ok(job?.job_signature, "and is signed");
  const [plainJob] = await sent("PLAIN");
  assert.equal(plainJob && "executor" in plainJob, false, "no rule: no executor named");
  assert.equal(plain.executor, "local", "the worker's own executor");
});

test("SNS mode: an allow-listed stderr line is information; other stderr output fails a script that exits 0", async () => {
  const noisy = (line: string) => `#!/bin/sh\necho "${line}" >&2\necho ok > "$2/out.txt"\n`;
  const p = await pipeline(
    { worker: { success: "stderr", exceptions: ["The proton charge is zero"] } },
    { SNSOK: noisy("Error: The proton charge is zero"), SNSBAD: noisy("Error: detector file missing") },
    { node1: {} },
  );
  await p.submit("SNSOK", 1);
  await p.submit("SNSBAD", 1);
  const ok = await p.run("SNSOK", 1, (r) => r.status !== "queued" && r.status !== "running", "SNSOK done");
  const bad = await p.run("SNSBAD", 1, (r) => r.status !== "queued" && r.status !== "running", "SNSBAD done");
  assert.equal(ok.status, "completed");
  assert.equal(ok.message, "The proton charge is zero");
  assert.equal(bad.status, "error");
  assert.match(bad.message ?? "", /^REDUCTION: detector file missing/);
});

test("a script past the memory limit is an error that names the limit; peak memory is recorded on success", async () => {
  const hog = `import sys\nblock = bytearray(400 * 1024 * 1024)\nfor i in range(0, len(block), 4096): block[i] = 1\nimport time\ntime.sleep(30)\n`;
  const p = await pipeline(
    {
      scripts: { file: "reduce_{instrument}.py", interpreter: "python3" },
      worker: { memory_limit: "150MiB", check_interval_seconds: 0.1 },
    },
    { HOG: hog, SMALL: "import time\ntime.sleep(0.6)\nprint('fine')\n" },
    { node1: {} },
  );
  await p.submit("HOG", 1);
  await p.submit("SMALL", 1);
  const hogged = await p.run("HOG", 1, (r) => r.status === "error", "HOG killed");
  assert.match(hogged.message ?? "", /^REDUCTION: killed: memory \d+(\.\d)? MiB > limit 150\.0 MiB/);
  const small = await p.run("SMALL", 1, (r) => r.status === "completed", "SMALL completed");
  assert.ok((small.peak_memory_bytes ?? 0) > 1_000_000, `peak memory recorded: ${small.peak_memory_bytes}`);
  assert.equal(small.executor, "local");
});
