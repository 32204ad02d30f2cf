import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { HeartbeatMessage } from "../../src/messages/heartbeat.ts";
import { listDaemons, recordHeartbeat } from "../../src/store/heartbeat-store.ts";
import type { SqlDatabase } from "../../src/store/state-database.ts";
import { openBackendDatabase } from "../helpers/backend-database.ts";

const T0 = Date.parse("2025-01-01T00:00:00Z");
const limits = { staleSeconds: 15, deadSeconds: 120 };

const workerBeat = (over: Partial<HeartbeatMessage> = {}): HeartbeatMessage => ({
  src_name: "autoreducer1",
  role: "postprocessing",
  status: "0",
  pid: "4242",
  kind: "worker",
  version: "0.1.0",
  started_at: new Date(T0).toISOString(),
  interval_seconds: 5,
  running: ["job-a"],
  slots: 4,
  queues: ["/queue/REDUCTION.DATA_READY"],
  ...over,
});

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`heartbeat store on ${backend}`, () => {
    let database: SqlDatabase;
    let close: () => Promise<void>;
    before(async () => {
      ({ database, close } = await openBackendDatabase(backend));
    });
    after(() => close());

    test("a daemon's heartbeats make one row: the last wins, first_seen stays", async () => {
      await database.db.deleteFrom("heartbeats").execute();
      await recordHeartbeat(database, workerBeat({ running: [] }), T0);
      await recordHeartbeat(
        database,
        workerBeat({ running: ["job-a", "job-b"], part_state: "running", restarts: 1, last_error: "boom" }),
        T0 + 5000,
      );
      const [daemon, ...others] = await listDaemons(database, T0 + 8000, limits);
      assert.equal(others.length, 0);
      assert.deepEqual(daemon, {
        daemon: "autoreducer1:postprocessing:4242",
        src_name: "autoreducer1",
        role: "postprocessing",
        pid: 4242,
        kind: "worker",
        version: "0.1.0",
        status: "0",
        state: "ok",
        age_seconds: 3,
        first_seen_at: new Date(T0).toISOString(),
        last_seen_at: new Date(T0 + 5000).toISOString(),
        started_at: new Date(T0).toISOString(),
        part_state: "running",
        restarts: 1,
        last_error: "boom",
        running: ["job-a", "job-b"],
        waiting: null,
        slots: 4,
        queues: ["/queue/REDUCTION.DATA_READY"],
      });
    });

    test("silence makes a daemon stale, then dead; a clean stop shows as stopped", async () => {
      await database.db.deleteFrom("heartbeats").execute();
      await recordHeartbeat(database, workerBeat({ pid: "1" }), T0);
      const sns = (await listDaemons(database, T0, limits))[0];
      assert.deepEqual(
        [sns?.part_state, sns?.restarts, sns?.last_error],
        [null, null, null],
        "a heartbeat without our part fields (an SNS agent's) shows none",
      );
      await recordHeartbeat(database, workerBeat({ pid: "2", status: "stopped" }), T0);
      const at = async (ms: number) =>
        (await listDaemons(database, T0 + ms, limits)).map((d) => [d.pid, d.state]);
      assert.deepEqual(await at(1000), [
        [1, "ok"],
        [2, "stopped"],
      ]);
      assert.deepEqual(await at(16_000), [
        [1, "stale"],
        [2, "stopped"],
      ]);
      assert.deepEqual(await at(121_000), [
        [1, "dead"],
        [2, "stopped"],
      ]);
    });

    test("each daemon is judged by its own pace: an SNS agent beating every 30 s is not stale at 16 s", async () => {
      await database.db.deleteFrom("heartbeats").execute();
      const paced = { ...limits, foreignIntervalSeconds: 30 };
      const agent = { src_name: "autoreducer1", role: "postprocessing", status: "0", pid: "1" }; // SNS's four fields
      await recordHeartbeat(database, agent, T0);
      await recordHeartbeat(database, workerBeat({ pid: "2", interval_seconds: 20 }), T0);
      await recordHeartbeat(database, workerBeat({ pid: "3", interval_seconds: 1 }), T0);
      // A forged beat claiming a very slow pace is held to the SNS agent's.
      await recordHeartbeat(database, workerBeat({ pid: "4", interval_seconds: 1_000_000 }), T0);
      const at = async (ms: number) =>
        (await listDaemons(database, T0 + ms, paced)).map((d) => [d.pid, d.state]);
      assert.deepEqual(await at(16_000), [
        [1, "ok"],
        [2, "ok"],
        [3, "stale"],
        [4, "ok"],
      ]);
      assert.deepEqual(await at(61_000), [
        [1, "ok"],
        [2, "stale"],
        [3, "stale"],
        [4, "ok"],
      ]);
      assert.deepEqual(await at(91_000), [
        [1, "stale"],
        [2, "stale"],
        [3, "stale"],
        [4, "stale"],
      ]);
      assert.deepEqual(await at(121_000), [
        [1, "dead"],
        [2, "dead"],
        [3, "dead"],
        [4, "dead"],
      ]);
    });

    test("a daemon heard again after going dead is ok again", async () => {
      await database.db.deleteFrom("heartbeats").execute();
      await recordHeartbeat(database, workerBeat(), T0);
      await recordHeartbeat(database, workerBeat(), T0 + 300_000);
      const [daemon] = await listDaemons(database, T0 + 301_000, limits);
      assert.equal(daemon?.state, "ok");
    });

    test("daemons not heard from for more than a day are left out, unless all are asked for", async () => {
      await database.db.deleteFrom("heartbeats").execute();
      await recordHeartbeat(database, workerBeat({ pid: "1" }), T0);
      const sns = (await listDaemons(database, T0, limits))[0];
      assert.deepEqual(
        [sns?.part_state, sns?.restarts, sns?.last_error],
        [null, null, null],
        "a heartbeat without our part fields (an SNS agent's) shows none",
      );
      await recordHeartbeat(database, workerBeat({ pid: "2" }), T0 + 2 * 86_400_000);
      const now = T0 + 2 * 86_400_000 + 1000;
      assert.deepEqual(
        (await listDaemons(database, now, limits)).map((d) => d.pid),
        [2],
      );
      assert.deepEqual(
        (await listDaemons(database, now, { ...limits, hideAfterSeconds: null })).map((d) => d.pid),
        [2, 1],
      );
    });

    test("an SNS agent's heartbeat (only the SNS fields, pid a string) is listed without our details", async () => {
      await database.db.deleteFrom("heartbeats").execute();
      await recordHeartbeat(
        database,
        { src_name: "autoreducer3.sns.gov", role: "postprocessing", status: "0", pid: "999" },
        T0,
      );
      const [daemon] = await listDaemons(database, T0, limits);
      assert.equal(daemon?.daemon, "autoreducer3.sns.gov:postprocessing:999");
      assert.equal(daemon?.pid, 999);
      assert.deepEqual(
        [daemon?.kind, daemon?.version, daemon?.running, daemon?.slots, daemon?.state],
        [null, null, null, null, "ok"],
      );
    });
  });
}
