import assert from "node:assert/strict";
import { hostname } from "node:os";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import packageJson from "../../package.json" with { type: "json" };
import { configFromObject } from "../../src/config/load-config.ts";
import type { Logger } from "../../src/logging/logger.ts";
import type { HeartbeatMessage } from "../../src/messages/heartbeat.ts";
import { startHeartbeat } from "../../src/service/heartbeat.ts";
import { startHeartbeatRecorder } from "../../src/service/heartbeat-recorder.ts";
import { listDaemons } from "../../src/store/heartbeat-store.ts";
import type { IncomingMessage, Transport } from "../../src/transport/transport.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

const HEARTBEAT = "/topic/SNS.COMMON.STATUS.AUTOREDUCE.0";
const PING = "/topic/SNS.COMMON.STATUS.PING";

/** A logger that keeps its records, to see what was logged. */
function capturingLogger(): { log: Logger; records: Array<{ level: number; msg: string }> } {
  const records: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: "debug" }, { write: (line: string) => records.push(JSON.parse(line)) });
  return { log, records };
}

const bodies = (messages: IncomingMessage[]) => messages.map((m) => JSON.parse(m.body) as HeartbeatMessage);
const workerDetails = () => ({ running: ["job-1"], slots: 3, queues: ["/queue/REDUCTION.DATA_READY"] });

describe("heartbeat over the embedded transport", { timeout: 30_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await openStack({ heartbeat: { interval_seconds: 0.2 } });
  });
  after(() => stack.close());

  test("a worker beats at once and then every interval with the SNS fields and ours; its last beat says stopped", async () => {
    const beats = await stack.collect(HEARTBEAT);
    const { log } = capturingLogger();
    const heartbeat = await startHeartbeat({ ...stack, log, kind: "worker", details: workerDetails });
    await waitFor(() => beats.length >= 3, "three heartbeats");
    await heartbeat.stop();
    await stack.transport.send(HEARTBEAT, { body: '{"marker": true}' });
    await waitFor(() => beats.some((m) => m.body.includes("marker")), "the marker after the stop");

    const [first] = bodies(beats);
    assert.deepEqual(first, {
      src_name: hostname(),
      role: "postprocessing",
      status: "0",
      pid: String(process.pid),
      daemon: `${hostname()}:postprocessing:${process.pid}`,
      kind: "worker",
      version: packageJson.version,
      started_at: first?.started_at,
      interval_seconds: 0.2,
      running: ["job-1"],
      slots: 3,
      queues: ["/queue/REDUCTION.DATA_READY"],
    });
    assert.match(String(first?.pid), /^\d+$/, "numeric pid, a string as SNS's agent sends it");
    const statuses = bodies(beats.slice(0, -1)).map((b) => b.status);
    assert.equal(statuses.at(-1), "stopped", "the last beat before the marker");
    assert.ok(statuses.slice(0, -1).every((s) => s === "0"));
  });

  test('a ping with reply_to /queue/PING_TEST is answered there: SNS fields (role "postprocessing", status "0", numeric pid) and the ping\'s own', async () => {
    const answers = await stack.collect("/queue/PING_TEST");
    const { log } = capturingLogger();
    const heartbeat = await startHeartbeat({ ...stack, log, kind: "worker", details: workerDetails });
    try {
      await stack.transport.send(PING, {
        body: JSON.stringify({ reply_to: "/queue/PING_TEST", request_time: 1712345678.5 }),
      });
      const [answer] = bodies(await waitFor(() => (answers.length ? answers : null), "the ping answer"));
      assert.ok(answer?.src_name);
      assert.equal(answer?.role, "postprocessing");
      assert.equal(answer?.status, "0");
      assert.ok(/^\d+$/.test(String(answer?.pid)));
      assert.equal(answer?.reply_to, "/queue/PING_TEST");
      assert.equal(answer?.request_time, 1712345678.5);
    } finally {
      await heartbeat.stop();
    }
  });

  test("a ping without a usable reply_to (or asking for an answer on one of our own destinations) is logged and ignored", async () => {
    const pings = await stack.collect(PING);
    const ok = await stack.collect("/queue/PING_OK");
    const { log, records } = capturingLogger();
    const heartbeat = await startHeartbeat({ ...stack, log, kind: "listener" });
    try {
      const bad = [
        "not json",
        "{}",
        '{"reply_to": "PING_BARE"}',
        `{"reply_to": "${PING}"}`,
        '{"reply_to": "/queue/REDUCTION.DATA_READY"}',
      ];
      for (const body of bad) await stack.transport.send(PING, { body });
      await stack.transport.send(PING, { body: '{"reply_to": "/queue/PING_OK"}' });
      await waitFor(() => ok.length === 1, "the answer to the good ping");
      assert.equal(bodies(ok)[0]?.role, "listener");

      assert.equal(records.filter((r) => r.msg === "ping ignored").length, bad.length);
      assert.equal(await stack.transport.depth("/queue/PING_BARE"), 0);
      assert.equal(await stack.transport.depth(stack.config.queues.postprocess_error), 0);
      assert.equal(
        await stack.transport.depth("/queue/REDUCTION.DATA_READY"),
        0,
        "no heartbeat in a work queue",
      );
      // Nothing was answered on the ping topic itself (every daemon would answer the answer).
      await stack.transport.send(PING, { body: '{"reply_to": "/queue/PING_MARK"}' });
      await waitFor(() => pings.some((p) => p.body.includes("PING_MARK")), "the last ping sent");
      assert.ok(pings.every((p) => !p.body.includes('"src_name"')));
    } finally {
      await heartbeat.stop();
    }
  });

  test("the recorder records valid heartbeats, drops invalid ones, and shows a clean stop as stopped", async () => {
    await stack.database.db.deleteFrom("heartbeats").execute();
    const { log, records } = capturingLogger();
    const recorder = await startHeartbeatRecorder({ ...stack, log });
    const heartbeat = await startHeartbeat({ ...stack, log, kind: "worker", details: workerDetails });
    const daemons = () => listDaemons(stack.database, Date.now(), { staleSeconds: 15, deadSeconds: 120 });
    const [seen] = await waitFor(
      async () => ((await daemons()).length ? daemons() : null),
      "a recorded beat",
    );
    assert.deepEqual(
      [seen?.role, seen?.pid, seen?.state, seen?.running, seen?.slots],
      ["postprocessing", process.pid, "ok", ["job-1"], 3],
    );

    const invalid = ["{", '{"src_name": "x"}', '{"src_name": "x", "role": "r", "status": "0", "pid": "abc"}'];
    for (const body of invalid) await stack.transport.send(HEARTBEAT, { body });
    await heartbeat.stop();
    await waitFor(async () => (await daemons())[0]?.state === "stopped", "the stopped beat recorded");
    assert.equal((await daemons()).length, 1);
    assert.equal(records.filter((r) => r.msg === "heartbeat ignored").length, invalid.length);
    await recorder.stop();
  });

  test("a process that records heartbeats records its own last beat even after its recorder stopped", async () => {
    await stack.database.db.deleteFrom("heartbeats").execute();
    const { log } = capturingLogger();
    const recorder = await startHeartbeatRecorder({ ...stack, log });
    const heartbeat = await startHeartbeat({ ...stack, log, kind: "coordinator", record: recorder.record });
    await recorder.stop();
    await heartbeat.stop();
    const [daemon] = await listDaemons(stack.database, Date.now(), { staleSeconds: 15, deadSeconds: 120 });
    assert.deepEqual([daemon?.role, daemon?.state], ["workflowmgr", "stopped"]);
  });
});

test("a heartbeat whose sends fail warns once per outage, keeps beating and stops cleanly", async () => {
  const config = configFromObject({ heartbeat: { interval_seconds: 0.05 } }, "test.yaml", {});
  let down = true;
  const flaky: Transport = {
    send: () => (down ? Promise.reject(new Error("broker down")) : Promise.resolve("id")),
    subscribe: async () => ({ unsubscribe: async () => {}, active: 0 }),
    depth: async () => 0,
    browse: async () => [],
    take: async () => null,
    close: async () => {},
  };
  const { log, records } = capturingLogger();
  const heartbeat = await startHeartbeat({ transport: flaky, config, log, kind: "worker" });
  const failed = () => records.filter((r) => r.msg === "heartbeat not sent").length;
  await waitFor(() => failed() >= 3, "three failed beats");
  down = false;
  await waitFor(() => records.some((r) => r.msg === "heartbeats sent again"), "the transport back");
  await heartbeat.stop();
  const warnings = records.filter((r) => r.level === 40).map((r) => r.msg);
  assert.deepEqual(warnings, ["heartbeat not sent"], "one warning for the whole outage");
  assert.ok(
    records.every((r) => r.level < 50),
    "failures are warnings, not errors",
  );
});
