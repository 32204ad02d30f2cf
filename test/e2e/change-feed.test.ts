import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { ConfigInput } from "../../src/config/config-schema.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import type { ChangeEvent, DaemonChangeEvent, JobChangeEvent } from "../../src/messages/change-event.ts";
import { subscribeChanges } from "../../src/service/change-subscriber.ts";
import { openTransport } from "../../src/transport/open-transport.ts";
import type { Subscription } from "../../src/transport/transport.ts";
import { isolatedQueues, sharedActiveMQ, sharedRabbitMQ } from "../helpers/brokers.ts";
import { type Daemon, type Deployment, makeDeployment, startDaemon } from "../helpers/deployment.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The change feed across processes: `serve` (coordinator, worker, listener) and a second worker
 * run as their own processes; this test's process subscribes as a web process on another machine
 * would, through its own transport connection.
 */

// Long enough that the worker's STARTED is handled before its COMPLETE (they travel on separate queues).
const SCRIPT = `import time
time.sleep(0.5)
print("reduced")
`;

const backends: Array<{ name: string; config: () => ConfigInput }> = [
  { name: "embedded transport (SQLite)", config: () => ({}) },
  {
    name: "ActiveMQ (STOMP) + SQLite",
    config: () => ({
      transport: { kind: "stomp", stomp: { brokers: [sharedActiveMQ()] } },
      queues: isolatedQueues(randomUUID().slice(0, 8)),
    }),
  },
  {
    name: "RabbitMQ (STOMP) + SQLite",
    config: () => ({
      transport: { kind: "stomp", stomp: { brokers: [sharedRabbitMQ()] } },
      queues: isolatedQueues(randomUUID().slice(0, 8)),
    }),
  },
];

for (const backend of backends) {
  describe(`change feed across processes: ${backend.name}`, () => {
    let d: Deployment;
    let serve: Daemon | undefined;
    let worker: Daemon | undefined;
    let subscription: Subscription;
    let closeTransport: () => Promise<void>;
    const events: ChangeEvent[] = [];
    const gaps: unknown[] = [];

    before(async () => {
      d = makeDeployment({
        instruments: { FEED: {} },
        heartbeat: { interval_seconds: 0.5, stale_seconds: 5, dead_seconds: 20 },
        ...backend.config(),
      });
      d.writeScript("FEED", SCRIPT);
      const config = loadConfig(d.configFile);
      const opened = await openTransport(config, silentLogger());
      closeTransport = opened.close;
      subscription = await subscribeChanges(opened.transport, config, (e) => void events.push(e), {
        log: silentLogger(),
        onGap: (gap) => gaps.push(gap),
      });
      // Generous: on a loaded 2-core machine `serve` (and a broker connection) can take a while.
      const started = startDaemon(["serve", "--config", d.configFile, "--no-api"]);
      serve = started;
      await waitFor(() => started.output().includes("running; press Ctrl-C"), "serve to start", 90_000).catch(
        (e: Error) => {
          throw new Error(`${e.message}\n${started.output().slice(-3000)}`);
        },
      );
    });
    after(async () => {
      await worker?.kill();
      await serve?.stop();
      await subscription.unsubscribe();
      await closeTransport();
      d.cleanup();
    });

    const seen = (what: string) => {
      const shown = events.map((e) =>
        e.subject === "job" ? `job ${e.run_number} ${e.status}` : `daemon ${e.pid} ${e.state}`,
      );
      return `${what}; events so far: ${shown.join(", ") || "none"}\n${serve?.output().slice(-2000)}`;
    };

    test("a run goes through: the subscriber sees queued → running → completed for its job, in order", async () => {
      await d.writeRun("FEED", 7);
      const jobEvents = () =>
        events.filter((e): e is JobChangeEvent => e.subject === "job" && e.run_number === 7);
      await waitFor(() => jobEvents().some((e) => e.status === "completed"), "completed", 60_000).catch(
        () => {
          throw new Error(seen("no completed event for run 7"));
        },
      );
      const mine = jobEvents();
      assert.deepEqual(
        mine.map((e) => [e.previous_status, e.status]),
        [
          [null, "queued"],
          ["queued", "running"],
          ["running", "completed"],
        ],
        seen("statuses"),
      );
      const [first] = mine;
      for (const e of mine) {
        assert.equal(e.kind, "reduction");
        assert.equal(e.job_id, first?.job_id);
        assert.equal(e.instrument, "FEED");
        assert.equal(e.version, 0);
        assert.equal(e.source, first?.source, "one coordinator published them");
      }
      assert.deepEqual(
        mine.map((e) => e.updated_at),
        mine.map((e) => e.updated_at).sort((a, b) => a - b),
        "updated_at never goes back",
      );
      assert.ok(mine.every((e, i) => i === 0 || e.seq > (mine[i - 1]?.seq ?? 0)));
      assert.deepEqual(gaps, []);
    });

    test("a worker that starts is seen appearing, and seen stopped when it stops", async () => {
      worker = startDaemon(["worker", "--config", d.configFile]);
      const pid = worker.proc.pid;
      const of = () => events.filter((e): e is DaemonChangeEvent => e.subject === "daemon" && e.pid === pid);
      await waitFor(() => of().some((e) => e.state === "ok"), "the worker to appear", 30_000).catch(() => {
        throw new Error(seen(`worker ${pid} never appeared`));
      });
      const appeared = of()[0];
      assert.equal(appeared?.previous_state, null);
      assert.equal(appeared?.kind, "worker");
      assert.equal(appeared?.role, "postprocessing");
      // Its first beat may come while it starts (no jobs listed yet); once running it lists none.
      await waitFor(
        () => of().some((e) => Array.isArray(e.running) && e.running.length === 0),
        "the worker listing no running jobs",
        30_000,
      );
      assert.equal(await worker.stop(), 0);
      await waitFor(() => of().some((e) => e.state === "stopped"), "the worker stopped", 30_000).catch(() => {
        throw new Error(seen(`worker ${pid} never seen stopped`));
      });
      assert.equal(of().at(-1)?.previous_state, "ok");
    });
  });
}
