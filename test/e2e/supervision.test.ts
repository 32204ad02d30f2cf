import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, test } from "node:test";
import type { DaemonView } from "../../src/store/heartbeat-store.ts";
import { cli, type Daemon, type Deployment, makeDeployment, startDaemon } from "../helpers/deployment.ts";
import { waitFor } from "../helpers/wait-for.ts";

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Another process's socket on a loopback port (the test process is not `serve`'s process). */
async function takePort(): Promise<{ port: number; release(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  let open = true;
  const release = () =>
    new Promise<void>((resolve) => {
      if (!open) return resolve();
      open = false;
      server.close(() => resolve());
    });
  cleanups.push(release);
  return { port: address.port, release };
}

function deployment(port: number, maxFailures: number): Deployment {
  const d = makeDeployment({
    api: { port },
    heartbeat: { interval_seconds: 0.3 },
    supervision: { max_failures: maxFailures, backoff_initial_seconds: 0.2, backoff_max_seconds: 1 },
  });
  cleanups.push(() => d.cleanup());
  return d;
}

function serve(d: Deployment): Daemon {
  const daemon = startDaemon(["serve", "--config", d.configFile]);
  cleanups.push(() => daemon.kill());
  return daemon;
}

async function parts(d: Deployment, pid: number | undefined): Promise<DaemonView[]> {
  const result = await cli(["status", "--config", d.configFile, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { daemons: DaemonView[] }).daemons.filter((row) => row.pid === pid);
}

test("serve restarts the web part while its port is taken, keeps the others running, and status shows the failures", async () => {
  const taken = await takePort();
  const d = deployment(taken.port, 1000);
  const daemon = serve(d);
  const failed = await waitFor(
    async () =>
      (await parts(d, daemon.proc.pid)).find(
        (row) => row.role === "web" && row.part_state === "failed" && (row.restarts ?? 0) >= 1,
      ),
    "the web part to show as failed with a restart",
    45_000,
    200,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${daemon.output().slice(-3000)}`);
  });
  assert.match(failed.last_error ?? "", /EADDRINUSE/);
  // The others run meanwhile (a part's beat may still say `starting` for one interval after it started).
  const others = ["workflowmgr", "postprocessing", "listener"];
  await waitFor(
    async () =>
      (await parts(d, daemon.proc.pid)).filter(
        (row) => others.includes(row.role) && row.part_state === "running",
      ).length === others.length,
    "the other parts running while the web part fails",
    30_000,
    200,
  );
  assert.match(daemon.output(), /web: failed \(.*EADDRINUSE.*\); restarting in [\d.]+ s/);

  await taken.release();
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${taken.port}/healthz`)).ok,
    "the API to answer once its port is free",
    30_000,
    200,
  );
  await waitFor(
    async () =>
      (await parts(d, daemon.proc.pid)).find((row) => row.role === "web" && row.part_state === "running"),
    "the web part to show as running again",
    30_000,
    200,
  );
  const status = await cli(["status", "--config", d.configFile]);
  assert.match(status.stdout, /web +\d+ +ok +running, \d+ restarts?/);
  assert.equal(await daemon.stop(), 0, daemon.output());
});

test("serve gives a part up after supervision.max_failures failures and exits 1 naming it", async () => {
  const taken = await takePort();
  const d = deployment(taken.port, 2);
  const daemon = serve(d);
  const exited = new Promise<number | null>((resolve) => daemon.proc.once("exit", resolve));
  const code = await waitFor(() => exited.then((c) => ({ c })), "serve to exit", 60_000);
  assert.equal(code.c, 1, daemon.output());
  assert.match(daemon.output(), /web: failed \(.*EADDRINUSE.*\); given up after 2 failures/);
  assert.match(daemon.output(), /autoreduce: the web failed: .*EADDRINUSE/);
  const rows = await parts(d, daemon.proc.pid);
  assert.equal(rows.find((row) => row.role === "web")?.part_state, "failed");
  assert.equal(rows.find((row) => row.role === "workflowmgr")?.part_state, "stopped");
});

test("a part run alone (autoreduce web) does not restart itself: a taken port exits 1 at once, naming the part", async () => {
  const taken = await takePort();
  const d = deployment(taken.port, 1000);
  const result = await cli(["web", "--config", d.configFile]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /autoreduce: the web failed: .*EADDRINUSE/);
});
