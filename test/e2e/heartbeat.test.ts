import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { DaemonView } from "../../src/store/heartbeat-store.ts";
import {
  cli,
  type Daemon,
  type Deployment,
  makeDeployment,
  startDaemon,
  startServe,
} from "../helpers/deployment.ts";
import { waitFor } from "../helpers/wait-for.ts";

let d: Deployment;
const daemons: Daemon[] = [];
before(() => {
  // A `status` call takes a few seconds here: the stale window (2 s to 10 s) is wide enough to see.
  d = makeDeployment({ heartbeat: { interval_seconds: 0.5, stale_seconds: 2, dead_seconds: 10 } });
});
after(async () => {
  for (const daemon of daemons) await daemon.kill();
  d.cleanup();
});

function start(part: "coordinator" | "worker"): Daemon {
  const daemon = startDaemon([part, "--config", d.configFile]);
  daemons.push(daemon);
  return daemon;
}

/** `autoreduce status --json`'s daemons; status exits 0 whatever their state. */
async function listed(): Promise<DaemonView[]> {
  const result = await cli(["status", "--config", d.configFile, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { daemons: DaemonView[] }).daemons;
}

/**
 * Waits until `status` shows the daemon of `pid` in `state`; returns its row. For `ok`, the beat
 * must also say the part runs: its first beat may come while it starts, before it has details.
 */
async function waitForState(pid: number | undefined, state: DaemonView["state"], timeoutMs = 30_000) {
  const running = (row: DaemonView) =>
    state !== "ok" || row.part_state == null || row.part_state === "running";
  try {
    return await waitFor(
      async () => (await listed()).find((row) => row.pid === pid && row.state === state && running(row)),
      `pid ${pid} to be ${state}`,
      timeoutMs,
      100,
    );
  } catch (e) {
    const outputs = daemons.map((daemon) => `--- ${daemon.proc.pid}:\n${daemon.output().slice(-2000)}`);
    throw new Error(`${(e as Error).message}\n${outputs.join("\n")}`);
  }
}

let coordinator: Daemon;
let worker: Daemon;

test("a coordinator and a worker in their own processes show as ok, with their roles and the worker's slots", async () => {
  coordinator = start("coordinator");
  worker = start("worker");
  const shown = await waitForState(worker.proc.pid, "ok");
  assert.deepEqual(
    [shown.role, shown.kind, shown.status, shown.running, shown.slots, shown.queues],
    ["postprocessing", "worker", "0", [], 4, ["/queue/REDUCTION.DATA_READY"]],
  );
  const own = await waitForState(coordinator.proc.pid, "ok");
  assert.equal(own.role, "workflowmgr");

  const text = await cli(["status", "--config", d.configFile]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Daemons:\nNAME +ROLE +PID +STATE +PART +LAST SEEN +RUNNING +SLOTS$/m);
  assert.match(text.stdout, new RegExp(`postprocessing +${worker.proc.pid} +ok +running +\\d+ s ago +0 +4`));
});

test("a worker killed with SIGKILL turns stale after stale_seconds, then dead after dead_seconds", async () => {
  await worker.kill();
  await waitForState(worker.proc.pid, "stale");
  const dead = await waitForState(worker.proc.pid, "dead");
  assert.ok(dead.age_seconds >= 10, `age ${dead.age_seconds} s`);
});

test("a worker stopped with SIGTERM shows as stopped, and so does the coordinator", async () => {
  const second = start("worker");
  await waitForState(second.proc.pid, "ok");
  assert.equal(await second.stop(), 0);
  await waitForState(second.proc.pid, "stopped", 10_000);

  assert.equal(await coordinator.stop(), 0);
  await waitForState(coordinator.proc.pid, "stopped", 10_000);
  const rows = await listed();
  assert.equal(rows.find((row) => row.pid === worker.proc.pid)?.state, "dead", "the killed one stays dead");
});

test("serve beats once per part (coordinator, worker, web, listener) and a SIGTERM shows each stopped", async () => {
  const serve = await startServe(d.configFile, []);
  daemons.push(serve);
  const roles = async (state: DaemonView["state"]) =>
    (await listed())
      .filter((row) => row.pid === serve.proc.pid && row.state === state)
      .map((row) => row.role)
      .sort();
  const all = ["listener", "postprocessing", "web", "workflowmgr"];
  await waitFor(async () => (await roles("ok")).join() === all.join(), "four parts ok", 30_000, 100);
  // A part's first beat may come while it starts: wait for the beat that says it runs.
  await waitFor(
    async () =>
      (await listed()).filter((row) => row.pid === serve.proc.pid && row.part_state === "running").length ===
      all.length,
    "four parts running",
    30_000,
    100,
  );
  const rows = (await listed()).filter((row) => row.pid === serve.proc.pid);
  assert.deepEqual(
    rows.map((row) => [row.role, row.part_state, row.restarts]).sort(),
    all.map((role) => [role, "running", 0]),
    "each part says it is running and was never restarted",
  );
  assert.equal(await serve.stop(), 0);
  await waitFor(
    async () => (await roles("stopped")).join() === all.join(),
    "four parts stopped",
    10_000,
    100,
  );
  const last = (await listed()).filter((row) => row.pid === serve.proc.pid);
  assert.deepEqual(
    last.map((row) => row.part_state),
    all.map(() => "stopped"),
  );
});
