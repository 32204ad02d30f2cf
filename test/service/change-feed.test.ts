import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { cancelRun } from "../../src/coordinator/operations.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import type { ChangeEvent, DaemonChangeEvent, JobChangeEvent } from "../../src/messages/change-event.ts";
import { ChangePublisher } from "../../src/service/change-publisher.ts";
import { type ChangeGap, subscribeChanges } from "../../src/service/change-subscriber.ts";
import { heartbeatMessage } from "../../src/service/heartbeat.ts";
import { type HeartbeatRecorder, startHeartbeatRecorder } from "../../src/service/heartbeat-recorder.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

/** A logger whose warnings the test can read. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level: "warn" }, stream), lines };
}

const job = (over: Record<string, unknown> = {}) => ({
  subject: "job" as const,
  kind: "reduction",
  job_id: "j-1",
  status: "queued",
  previous_status: null,
  message: null,
  updated_at: 1,
  instrument: "DEMO",
  run_number: 5,
  version: 0,
  ...over,
});

describe("the change feed's subscriber edge (embedded transport)", () => {
  let stack: Stack;
  const received: ChangeEvent[] = [];
  const gaps: ChangeGap[] = [];
  const { log, lines } = capturingLogger();
  before(async () => {
    stack = await openStack();
    await subscribeChanges(
      stack.transport,
      stack.config,
      (event) => {
        if (event.subject === "job" && event.job_id === "throws") throw new Error("a broken handler");
        received.push(event);
      },
      { log, onGap: (gap) => gaps.push(gap) },
    );
  });
  after(() => stack.close());

  const raw = (body: string) => stack.transport.send(stack.config.queues.changes, { body });

  test("events that are not valid are ignored with a warning, and the valid ones after them arrive", async () => {
    await raw("not json");
    await raw(JSON.stringify({ subject: "job", job_id: "no-status", source: "s", seq: 1, published_at: 0 }));
    await raw(JSON.stringify({ ...job(), subject: "weather", source: "s", seq: 2, published_at: 0 }));
    const publisher = new ChangePublisher(stack.transport, stack.config, log);
    await publisher.publish(job({ job_id: "valid" }));
    await waitFor(() => received.some((e) => e.subject === "job" && e.job_id === "valid"), "the valid event");
    assert.deepEqual(
      received.map((e) => (e.subject === "job" ? e.job_id : e.daemon)),
      ["valid"],
    );
    assert.equal(lines.filter((l) => l.includes("change event ignored")).length, 3, lines.join(""));
    assert.match(lines.join(""), /status: missing/);
  });

  test("a publisher numbers its events; a jump in the numbers is reported as a gap", async () => {
    const base = { source: "gappy", published_at: 0 };
    await raw(JSON.stringify({ ...job({ job_id: "g1" }), ...base, seq: 1 }));
    await raw(JSON.stringify({ ...job({ job_id: "g2" }), ...base, seq: 2 }));
    await raw(JSON.stringify({ ...job({ job_id: "g5" }), ...base, seq: 5 }));
    await waitFor(
      () => received.some((e) => e.subject === "job" && e.job_id === "g5"),
      "the event after the gap",
    );
    assert.deepEqual(gaps, [{ source: "gappy", expected: 3, received: 5 }]);
  });

  test("a handler that throws is logged and the subscription goes on", async () => {
    const publisher = new ChangePublisher(stack.transport, stack.config, log);
    void publisher.publish(job({ job_id: "throws" }));
    void publisher.publish(job({ job_id: "after-throw" }));
    await waitFor(
      () => received.some((e) => e.subject === "job" && e.job_id === "after-throw"),
      "the event after the one whose handler threw",
    );
    assert.ok(lines.some((l) => l.includes("change event handler failed")));
  });

  test("a publisher sends its events in the order published, numbered from 1", async () => {
    const publisher = new ChangePublisher(stack.transport, stack.config, log);
    const ids = Array.from({ length: 20 }, (_, i) => `order-${i}`);
    for (const id of ids) void publisher.publish(job({ job_id: id }));
    await publisher.flush();
    await waitFor(
      () => received.filter((e) => e.source === publisher.source).length === ids.length,
      "all 20",
    );
    const mine = received.filter((e) => e.source === publisher.source);
    assert.deepEqual(
      mine.map((e) => (e.subject === "job" ? e.job_id : "")),
      ids,
    );
    assert.deepEqual(
      mine.map((e) => e.seq),
      ids.map((_, i) => i + 1),
    );
  });
});

describe("the heartbeat recorder publishes daemon changes", () => {
  let stack: Stack;
  let recorder: HeartbeatRecorder;
  let clock = 1_000_000;
  const daemons: DaemonChangeEvent[] = [];
  before(async () => {
    stack = await openStack({ heartbeat: { interval_seconds: 1, stale_seconds: 15, dead_seconds: 120 } });
    await subscribeChanges(
      stack.transport,
      stack.config,
      (event) => {
        if (event.subject === "daemon") daemons.push(event);
      },
      { log: capturingLogger().log },
    );
    recorder = await startHeartbeatRecorder({
      ...stack,
      log: capturingLogger().log,
      now: () => clock,
      checkIntervalMs: 20,
    });
  });
  after(async () => {
    await recorder.stop();
    await stack.close();
  });

  const identity = {
    srcName: "node1",
    kind: "worker" as const,
    pid: 4242,
    startedAt: new Date(),
    intervalSeconds: 1,
  };
  const beat = (running: string[], status: "0" | "stopped" = "0") =>
    recorder.record(heartbeatMessage(identity, status, { running, slots: 2 }));
  const states = () =>
    daemons.map((d) => `${d.previous_state ?? "new"}→${d.state} [${(d.running ?? []).join(",")}]`);
  const waitForCount = (n: number, what: string) =>
    waitFor(() => daemons.length >= n, what).catch((e: Error) => {
      throw new Error(`${e.message}; seen: ${states().join("; ")}`);
    });

  test("a worker appears, starts a job, goes silent (stale, dead), comes back and stops: one event each", async () => {
    await beat([]);
    await waitForCount(1, "the worker to appear");
    await beat([]); // the same again: no event
    await beat(["job-1"]);
    await waitForCount(2, "the job to show");
    clock += 16_000;
    await waitForCount(3, "stale");
    clock += 120_000;
    await waitForCount(4, "dead");
    await beat([]);
    await waitForCount(5, "back to ok");
    await beat([], "stopped");
    await waitForCount(6, "stopped");
    assert.deepEqual(states(), [
      "new→ok []",
      "ok→ok [job-1]",
      "ok→stale [job-1]",
      "stale→dead [job-1]",
      "dead→ok []",
      "ok→stopped []",
    ]);
    const last = daemons.at(-1);
    assert.equal(last?.daemon, "node1:postprocessing:4242");
    assert.equal(last?.kind, "worker");
    assert.equal(last?.pid, 4242);
    assert.equal(last?.last_seen_at, clock);
  });
});

describe("job changes made outside the coordinator's handlers are published too", () => {
  let stack: Stack;
  let coordinator: Coordinator;
  const jobs: JobChangeEvent[] = [];
  before(async () => {
    stack = await openStack({ instruments: { DEMO: {} } });
    mkdirSync(join(stack.config.scripts.root, "DEMO"), { recursive: true });
    writeFileSync(join(stack.config.scripts.root, "DEMO", "reduce_DEMO.py"), "print('reducing')\n");
    await subscribeChanges(
      stack.transport,
      stack.config,
      (event) => {
        if (event.subject === "job") jobs.push(event);
      },
      { log: silentLogger() },
    );
    coordinator = await Coordinator.start({ ...stack, log: silentLogger() });
  });
  after(async () => {
    await coordinator.stop();
    await stack.close();
  });

  test("a queued run that a person cancels: queued, then cancelled, from the cancelling process", async () => {
    const dataFile = join(stack.dir, "archive", "DEMO", "IPTS-1", "nexus", "DEMO_5.nxs.h5");
    mkdirSync(join(dataFile, ".."), { recursive: true });
    writeFileSync(dataFile, "raw");
    const body = { facility: "SNS", instrument: "DEMO", ipts: "IPTS-1", run_number: 5, data_file: dataFile };
    await stack.transport.send(stack.config.queues.data_ready, { body: JSON.stringify(body) });
    await waitFor(() => jobs.some((e) => e.status === "queued"), "the queued event");
    await cancelRun({ ...stack, log: silentLogger() }, "demo", 5, "tester");
    await waitFor(() => jobs.some((e) => e.status === "cancelled"), "the cancelled event");
    const [queued, cancelled] = jobs;
    assert.deepEqual(
      jobs.map((e) => [e.previous_status, e.status, e.instrument, e.run_number, e.version]),
      [
        [null, "queued", "DEMO", 5, 0],
        ["queued", "cancelled", "DEMO", 5, 0],
      ],
    );
    assert.equal(cancelled?.job_id, queued?.job_id);
    assert.equal(cancelled?.message, "cancelled by tester");
    assert.ok((cancelled?.updated_at ?? 0) >= (queued?.updated_at ?? Infinity), "updated_at goes forward");
  });

  test("a report naming another run than its job's: the event names the job's own run", async () => {
    const dataFile = join(stack.dir, "archive", "DEMO", "IPTS-1", "nexus", "DEMO_6.nxs.h5");
    writeFileSync(dataFile, "raw");
    const body = { facility: "SNS", instrument: "DEMO", ipts: "IPTS-1", run_number: 6, data_file: dataFile };
    await stack.transport.send(stack.config.queues.data_ready, { body: JSON.stringify(body) });
    const queued = await waitFor(
      () => jobs.find((e) => e.run_number === 6 && e.status === "queued"),
      "run 6 queued",
    );
    const report = { instrument: "OTHER", run_number: 999, job_id: queued.job_id, attempt: 1 };
    await stack.transport.send(stack.config.queues.reduction_started, { body: JSON.stringify(report) });
    const running = await waitFor(
      () => jobs.find((e) => e.job_id === queued.job_id && e.status === "running"),
      "running",
    );
    assert.deepEqual([running.instrument, running.run_number, running.version], ["DEMO", 6, 0]);
  });
});
