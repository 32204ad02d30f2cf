import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Coordinator, type ReductionChange } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import type { HeartbeatMessage } from "../../src/messages/heartbeat.ts";
import { recordHeartbeat } from "../../src/store/heartbeat-store.ts";
import { listRuns, runEvents } from "../../src/store/run-views.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The coordinator's sweeper against a real state database and transport. Workers are played by
 * the test: it takes the job messages off the queue (so the queue is empty, as when a worker holds
 * them), sends their reports, and records their heartbeats, as old as the case needs.
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`the reduction sweeper on ${backend}`, () => {
    let stack: Stack;
    let coordinator: Coordinator;
    let jobs: IncomingMessage[];
    const changes: ReductionChange[] = [];
    let drop = async () => {};

    before(async () => {
      let url: string | undefined;
      if (backend === "PostgreSQL") ({ url, drop } = await createTestDatabase());
      stack = await openStack(
        {
          instruments: { DEMO: {} },
          sweeper: { interval_seconds: 0.2, grace_seconds: 3, max_attempts: 2 },
          heartbeat: { interval_seconds: 0.2, stale_seconds: 0.5, dead_seconds: 1 },
        },
        url,
      );
      mkdirSync(join(stack.config.scripts.root, "DEMO"), { recursive: true });
      writeFileSync(join(stack.config.scripts.root, "DEMO", "reduce_DEMO.py"), "print('reducing')\n");
      jobs = await stack.collect(stack.config.queues.reduction_data_ready);
      coordinator = await Coordinator.start({
        ...stack,
        log: silentLogger(),
        onChange: (c) => changes.push(c),
      });
    });
    after(async () => {
      await coordinator.stop();
      await stack.close();
      await drop();
    });

    const run = (n: number) => {
      const dataFile = join(stack.dir, "archive", "DEMO", "IPTS-1", "nexus", `DEMO_${n}.nxs.h5`);
      mkdirSync(join(dataFile, ".."), { recursive: true });
      writeFileSync(dataFile, "raw");
      return { facility: "SNS", instrument: "DEMO", ipts: "IPTS-1", run_number: n, data_file: dataFile };
    };
    const jobOf = (n: number) =>
      jobs.map((m) => JSON.parse(m.body) as Record<string, unknown>).filter((j) => j.run_number === n);
    const send = (queue: string, body: unknown) =>
      stack.transport.send(queue, { body: JSON.stringify(body) });
    const view = async (n: number) => (await listRuns(stack.database)).find((r) => r.run_number === n);
    const beat = (host: string, pid: number, running: string[], ageMs: number, status = "0") => {
      const message: HeartbeatMessage = {
        src_name: host,
        role: "postprocessing",
        status,
        pid: String(pid),
        kind: "worker",
        interval_seconds: 0.2, // as our workers say how often they beat
        running,
        waiting: [],
        queues: [stack.config.queues.reduction_data_ready],
      };
      return recordHeartbeat(stack.database, message, Date.now() - ageMs);
    };
    /** A worker that keeps beating (every 100 ms) until the returned function is called. */
    const beating = (host: string, pid: number, running: string[]) => {
      const timer = setInterval(() => void beat(host, pid, running, 0).catch(() => {}), 100);
      return () => clearInterval(timer);
    };
    /** Sends DATA_READY and STARTED (from `host`) for run `n`; returns its job id once running. */
    const started = async (n: number, host: string) => {
      await send(stack.config.queues.data_ready, run(n));
      const job = await waitFor(() => jobOf(n)[0], `the job of run ${n}`);
      await send(stack.config.queues.reduction_started, { ...job, host, attempt: 1 });
      await waitFor(async () => (await view(n))?.status === "running", `run ${n} running`);
      return String(job.job_id);
    };

    test("a running job whose worker stopped sending heartbeats is re-queued as the next attempt, then marked error; a job a live worker lists is left alone", async (t) => {
      const lost = await started(1, "node9");
      const held = await started(2, "node8");
      const node8 = beating("node8", 77, [held]);
      t.after(node8);
      await beat("node9", 4242, [lost], 0); // its last beat: dead once silent for dead_seconds

      const again = await waitFor(() => jobOf(1)[1], "the job of run 1 sent again", 30_000);
      assert.deepEqual(again.retry, { attempt: 1, deliveries: 1, history: [] });
      const requeued = await view(1);
      assert.equal(requeued?.status, "queued");
      assert.match(
        requeued?.message ?? "",
        /^worker node9:4242 stopped sending heartbeats at \S+; the job was re-queued \(attempt 2\)$/,
      );
      assert.ok(
        changes.some((c) => c.run_number === 1 && c.status === "queued"),
        "the change was published",
      );
      const events = await runEvents(stack.database, "DEMO", 1);
      assert.ok(
        events.some((e) => e.destination === "sweeper" && JSON.stringify(e.body).includes("re-queued")),
        "the decision is on the run's timeline",
      );

      // The next attempt starts on a worker that then stops without finishing it: this time the
      // job is given up. (The dead worker's list of the first attempt is not counted again.)
      await send(stack.config.queues.reduction_started, { ...again, host: "node9", attempt: 2 });
      // Not stale: the re-sent job told the worker it is attempt 2, as the reduction counts it.
      await waitFor(async () => (await view(1))?.status === "running", "attempt 2 running");
      assert.equal((await view(1))?.attempts, 2);
      await beat("node9", 4243, [lost], 0, "stopped");
      await waitFor(async () => (await view(1))?.status === "error", "run 1 marked error", 30_000);
      assert.match(
        (await view(1))?.message ?? "",
        /^worker node9:4243 stopped at \S+; marked error after 2 attempts$/,
      );
      assert.equal(jobOf(1).length, 2, "not sent a third time");

      assert.equal((await view(2))?.status, "running", "the job a live worker lists is untouched");
      assert.equal(jobOf(2).length, 1);
    });

    test("a running job that no live worker lists for longer than the grace period is re-queued", async (t) => {
      const job = await started(3, "node7");
      t.after(beating("node7", 55, [])); // alive, but does not hold the job (its report was lost)
      await waitFor(() => jobOf(3)[1], "the job of run 3 sent again", 30_000);
      const requeued = await view(3);
      assert.equal(requeued?.status, "queued");
      assert.match(
        requeued?.message ?? "",
        /^no live worker has held the job since \S+ \(it was last reported from node7\); the job was re-queued \(attempt 2\)$/,
      );
      // The worker's late COMPLETE for the first attempt still counts.
      await send(stack.config.queues.reduction_complete, {
        ...jobOf(3)[0],
        job_id: job,
        host: "node7",
        attempt: 1,
      });
      await waitFor(async () => (await view(3))?.status === "completed", "run 3 completed");
    });
  });
}
