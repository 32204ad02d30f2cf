import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import {
  judgeLedger,
  LEDGER_STALE_MS,
  type LedgerEntry,
  type LedgerView,
  ledgerPath,
  readLedger,
  writeLedger,
} from "../../src/worker/job-ledger.ts";
import { ReductionWorker } from "../../src/worker/reduction-worker.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

describe("the job ledger's verdict", () => {
  const now = 1_000_000_000;
  const self = { host: "node-b", pid: 200 };
  const entry = (over: Partial<LedgerEntry>): LedgerEntry => ({
    job: "job-1#1",
    state: "running",
    host: "node-a",
    pid: 100,
    at: "",
    ...over,
  });
  const view = (e: LedgerEntry | null, ageMs = 0): LedgerView => ({ entry: e, mtimeMs: now - ageMs });
  const alive = (pid: number) => pid === 100;
  const cases: Array<[string, LedgerView, string]> = [
    ["no ledger: run", view(null), "run"],
    ["another job of the same file (a re-run): run", view(entry({ job: "job-9#1" })), "run"],
    ["another attempt of the same job (a retry): run", view(entry({ job: "job-1#2" })), "run"],
    ["released (handed back, or no final report): run", view(entry({ state: "released" })), "run"],
    ["reported by any worker: skip", view(entry({ state: "reported" })), "skip"],
    ["running on another machine, touched lately: wait", view(entry({}), 1000), "wait"],
    ["running on another machine, not touched for long: run", view(entry({}), LEDGER_STALE_MS), "run"],
    ["running on this machine in a live process: wait", view(entry({ host: "node-b" })), "wait"],
    ["running on this machine in a dead process: run", view(entry({ host: "node-b", pid: 101 })), "run"],
    ["running in this very process (a former life): run", view(entry({ host: "node-b", pid: 200 })), "run"],
  ];
  for (const [name, v, expected] of cases) {
    test(name, () => assert.equal(judgeLedger(v, "job-1#1", self, now, alive).kind, expected));
  }

  test("a damaged or missing ledger reads as no entry; a written one reads back", () => {
    const scratch = tempDir();
    try {
      const path = join(scratch.path, ".RUN_1.nxs.h5.job");
      assert.equal(readLedger(path).entry, null);
      writeFileSync(path, "{ not json");
      assert.equal(readLedger(path).entry, null);
      writeLedger(path, { job: "job-1#1", state: "reported", host: "node-a", pid: 7 });
      assert.deepEqual(
        { ...readLedger(path).entry, at: "" },
        { job: "job-1#1", state: "reported", host: "node-a", pid: 7, at: "" },
      );
    } finally {
      scratch.cleanup();
    }
  });
});

describe("writing a ledger", () => {
  test("makes the ledger folder when it is missing, also when it was removed after a first write", () => {
    const scratch = tempDir();
    try {
      const path = ledgerPath(join(scratch.path, "out"), "/archive/RUN_1.nxs.h5");
      writeLedger(path, { job: "job-1#1", state: "running", host: "node-a", pid: 7 });
      assert.equal(readLedger(path).entry?.state, "running");
      rmSync(join(scratch.path, "out"), { recursive: true });
      writeLedger(path, { job: "job-1#1", state: "reported", host: "node-a", pid: 7 });
      assert.equal(readLedger(path).entry?.state, "reported");
      assert.deepEqual(readdirSync(join(scratch.path, "out", ".autoreduce")), ["RUN_1.nxs.h5.job"]);
    } finally {
      scratch.cleanup();
    }
  });

  test("an unwritable ledger folder throws and leaves no partial file", () => {
    const scratch = tempDir();
    try {
      const out = join(scratch.path, "out");
      writeFileSync(out, "a file where the output folder should be");
      const path = ledgerPath(out, "/archive/RUN_1.nxs.h5");
      assert.throws(() => writeLedger(path, { job: "job-1#1", state: "running", host: "node-a", pid: 7 }));
      assert.deepEqual(readdirSync(scratch.path), ["out"]);
    } finally {
      scratch.cleanup();
    }
  });
});

// Holds until `release` appears in the output folder; counts its runs in `ran.txt`.
const SLOW = `import sys, os, time
data, out = sys.argv[1], sys.argv[2]
with open(os.path.join(out, "ran-" + os.path.basename(data)), "a") as f:
    f.write("ran\\n")
while not os.path.exists(os.path.join(out, "release-" + os.path.basename(data))):
    time.sleep(0.05)
`;

describe("a job delivered again to another worker (real python3)", () => {
  let stack: Stack;
  const workers: ReductionWorker[] = [];
  const reports: Record<string, IncomingMessage[]> = {};
  const OTHER_QUEUE = "/queue/REDUCTION.NODE_B.DATA_READY";
  let n = 0;
  /** What each worker logged, to wait on its decisions. */
  const logged: Record<"node-a" | "node-b", string[]> = { "node-a": [], "node-b": [] };
  const logger = (node: "node-a" | "node-b") =>
    pino({ level: "info" }, { write: (line: string) => logged[node].push(line) });
  const said = (node: "node-a" | "node-b", text: string, jobId: string) =>
    logged[node].filter((line) => line.includes(text) && line.includes(`"${jobId}"`)).length;
  const WAITING = "while it runs elsewhere; waiting";
  const SKIPPED = "after it was reported; not run twice";

  before(async () => {
    stack = await openStack({ instruments: { SLOW: {} } });
    mkdirSync(join(stack.config.scripts.root, "SLOW"), { recursive: true });
    writeFileSync(join(stack.config.scripts.root, "SLOW", "reduce_SLOW.py"), SLOW);
    const q = stack.config.queues;
    for (const d of [q.reduction_started, q.reduction_complete]) reports[d] = await stack.collect(d);
    // Two workers as on two machines; node-b takes its jobs from a queue of its own, so that the
    // test can hand it the copy a broker would re-deliver.
    workers.push(
      await ReductionWorker.start({
        config: { ...stack.config, worker: { ...stack.config.worker, max_procs: 1 } },
        transport: stack.transport,
        log: logger("node-a"),
        host: "node-a",
      }),
      await ReductionWorker.start({
        config: { ...stack.config, worker: { ...stack.config.worker, queues: [OTHER_QUEUE] } },
        transport: stack.transport,
        log: logger("node-b"),
        host: "node-b",
      }),
    );
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await stack.close();
  });

  const newJob = () => {
    const run = ++n;
    const dataFile = join(stack.dir, "archive", "SLOW", `SLOW_${run}.nxs.h5`);
    mkdirSync(join(dataFile, ".."), { recursive: true });
    writeFileSync(dataFile, "raw");
    const body = JSON.stringify({
      facility: "SNS",
      instrument: "SLOW",
      ipts: "IPTS-9",
      run_number: run,
      data_file: dataFile,
      job_id: `ledger-${run}`,
    });
    const of = (destination: string) =>
      (reports[destination] ?? []).map((m) => JSON.parse(m.body)).filter((b) => b.job_id === `ledger-${run}`);
    return { run, id: `ledger-${run}`, dataFile, body, of };
  };
  const q = () => stack.config.queues;
  /** The job's STARTED report, once it has come. */
  const startedReport = (job: ReturnType<typeof newJob>) =>
    waitFor(() => job.of(q().reduction_started)[0], `${job.id} to start`);

  test("a copy that arrives while the job runs elsewhere waits, then is not run: the script runs once", async () => {
    const job = newJob();
    await stack.transport.send(q().reduction_data_ready, { body: job.body });
    const started = await startedReport(job);
    assert.equal(started.host, "node-a");
    await stack.transport.send(OTHER_QUEUE, { body: job.body }); // the broker's re-delivery
    const ledger = ledgerPath(started.output_dir, job.dataFile);
    await waitFor(() => said("node-b", WAITING, job.id) === 1, "node-b to wait for node-a");
    assert.equal(readLedger(ledger).entry?.state, "running");
    writeFileSync(join(started.output_dir, `release-SLOW_${job.run}.nxs.h5`), "");
    await waitFor(() => job.of(q().reduction_complete).length === 1, "the job completed");
    await waitFor(() => said("node-b", SKIPPED, job.id) === 1, "node-b to drop its copy");
    assert.equal(readLedger(ledger).entry?.state, "reported");
    assert.equal(readFileSync(join(started.output_dir, `ran-SLOW_${job.run}.nxs.h5`), "utf8"), "ran\n");
    assert.deepEqual(
      job.of(q().reduction_started).map((s) => s.host),
      ["node-a"],
    );
    assert.equal(job.of(q().reduction_complete).length, 1);
    assert.equal(ledger, join(started.output_dir, ".autoreduce", `SLOW_${job.run}.nxs.h5.job`));
    assert.deepEqual(
      readdirSync(join(started.output_dir, "reduction_log")).filter((name) => name.endsWith(".job")),
      [],
      "no ledger among the logs scientists read",
    );
    assert.ok(
      !(job.of(q().reduction_complete)[0]?.output_files ?? []).some((f: string) => f.includes(".autoreduce")),
      "the ledger is not listed as output",
    );
    // Once more, long after: the ledger says reported, so it is taken off the queue unrun.
    await stack.transport.send(OTHER_QUEUE, { body: job.body });
    await waitFor(() => said("node-b", "not run twice", job.id) === 2, "node-b to drop the late copy");
    assert.equal(said("node-b", WAITING, job.id), 1, "the late copy did not wait");
    assert.equal(job.of(q().reduction_started).length, 1);
  });

  test("a job held for a slot is not run once another worker has run its copy meanwhile", async () => {
    const first = newJob();
    const held = newJob();
    await stack.transport.send(q().reduction_data_ready, { body: first.body });
    const started = await startedReport(first);
    // node-a (one slot) takes the second job and holds it; the broker gives a copy to node-b.
    writeFileSync(join(started.output_dir, `release-SLOW_${held.run}.nxs.h5`), "");
    await stack.transport.send(q().reduction_data_ready, { body: held.body });
    await waitFor(
      async () => (await stack.transport.depth(q().reduction_data_ready)) === 0,
      "node-a to hold the second job",
    );
    await stack.transport.send(OTHER_QUEUE, { body: held.body });
    await waitFor(() => held.of(q().reduction_complete).length === 1, "node-b to run the copy");
    writeFileSync(join(started.output_dir, `release-SLOW_${first.run}.nxs.h5`), "");
    await waitFor(() => first.of(q().reduction_complete).length === 1, "the first job to complete");
    await waitFor(() => said("node-a", SKIPPED, held.id) === 1, "node-a to drop the held job");
    assert.equal(readLedger(ledgerPath(started.output_dir, held.dataFile)).entry?.host, "node-b");
    assert.deepEqual(
      held.of(q().reduction_started).map((s) => s.host),
      ["node-b"],
    );
    assert.equal(readFileSync(join(started.output_dir, `ran-SLOW_${held.run}.nxs.h5`), "utf8"), "ran\n");
  });

  test("a copy of a job that a worker on another machine left running long ago is run", async () => {
    const job = newJob();
    const outputDir = join(stack.config.output.root, "SLOW", "IPTS-9", "shared", "autoreduce");
    const ledger = ledgerPath(outputDir, job.dataFile);
    mkdirSync(join(ledger, ".."), { recursive: true });
    writeLedger(ledger, { job: `ledger-${job.run}#1`, state: "running", host: "node-gone", pid: 1 });
    const old = new Date(Date.now() - LEDGER_STALE_MS - 5000);
    utimesSync(ledger, old, old);
    writeFileSync(join(outputDir, `release-SLOW_${job.run}.nxs.h5`), "");
    await stack.transport.send(OTHER_QUEUE, { body: job.body });
    await waitFor(() => job.of(q().reduction_complete).length === 1, "node-b to run the job");
    assert.deepEqual(
      job.of(q().reduction_started).map((s) => s.host),
      ["node-b"],
    );
    assert.ok(existsSync(join(outputDir, `ran-SLOW_${job.run}.nxs.h5`)));
    assert.equal(readLedger(ledger).entry?.host, "node-b");
  });
});
