import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ActiveMQ } from "../../scripts/services/activemq.ts";
import type { PrivateCluster } from "../../scripts/services/postgres.ts";
import { portOpen } from "../../scripts/services/process-tools.ts";
import { configFromObject } from "../../src/config/load-config.ts";
import { createLogger } from "../../src/logging/logger.ts";
import type { RunView } from "../../src/store/run-views.ts";
import { openTransport } from "../../src/transport/open-transport.ts";
import type { IncomingMessage, Transport } from "../../src/transport/transport.ts";
import { privateActiveMQ, privatePostgres } from "../helpers/brokers.ts";
import {
  type Daemon,
  type Deployment,
  makeDeployment,
  runsJson,
  startDaemon,
} from "../helpers/deployment.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The facility deployment for real: ActiveMQ over STOMP and PostgreSQL, each of our parts in its
 * own OS process (coordinator, listener, two workers), all reading one config. The broker and
 * the database are this file's own, so that the tests can kill and restart them.
 */

// Each execution appends the run number to a ledger: "reduced exactly once" is checked there.
const script = (ledger: string) => `import sys, os, time
data, out = sys.argv[1], sys.argv[2]
run = os.path.basename(data).split("_")[1].split(".")[0]
time.sleep(0.2)
with open(${JSON.stringify(ledger)}, "a") as f:
    f.write(run + "\\n")
with open(os.path.join(out, "reduced_%s.txt" % run), "w") as f:
    f.write("ok")
`;

// Records its pid, then waits for a release file: the test decides when it ends.
const SLOW = `import sys, os, time
data, out = sys.argv[1], sys.argv[2]
with open(os.path.join(out, "pid-%d" % os.getpid()), "w") as f:
    f.write(str(os.getpid()))
while not os.path.exists(os.path.join(out, "release")):
    time.sleep(0.05)
with open(os.path.join(out, "result.txt"), "w") as f:
    f.write("done")
`;

describe("facility deployment: ActiveMQ + PostgreSQL, one process per part", () => {
  const scratch = tempDir("autoreduce-facility-");
  let broker: ActiveMQ;
  let pg: PrivateCluster;
  let d: Deployment;
  let ledger: string;
  let client: { transport: Transport; close: () => Promise<void> };
  const daemons = new Map<string, Daemon>();

  const start = (name: string, args: string[]) => {
    const daemon = startDaemon([...args, "--config", d.configFile]);
    daemons.set(name, daemon);
    return daemon;
  };
  const alive = () => [...daemons.entries()].filter(([, dm]) => dm.proc.exitCode === null).map(([n]) => n);
  const reductions = (run: number) =>
    readFileSync(ledger, "utf8")
      .split("\n")
      .filter((line) => line === String(run)).length;
  const completed = async (runs: number[], timeoutMs: number, what: string) => {
    let seen: RunView[] = [];
    await waitFor(
      async () => {
        seen = (await runsJson(d.configFile)).filter((r) => r.instrument === "FAC");
        return runs.every((n) => seen.some((r) => r.run_number === n && r.status === "completed"));
      },
      what,
      timeoutMs,
      250,
    ).catch((e: Error) => {
      const missing = runs.filter((n) => !seen.some((r) => r.run_number === n && r.status === "completed"));
      const states = missing.map((n) => `${n}:${seen.find((r) => r.run_number === n)?.status ?? "unknown"}`);
      const logs = [...daemons.entries()]
        .map(([n, dm]) => `--- ${n}\n${dm.output().slice(-3000)}`)
        .join("\n");
      throw new Error(`${e.message}; not completed: ${states.join(", ")}\n${logs}`);
    });
  };
  /** Exactly one version per run, completed, and one script execution per run. */
  const reducedOnce = async (runs: number[]) => {
    const versions = (await runsJson(d.configFile, true)).filter(
      (r) => r.instrument === "FAC" && runs.includes(r.run_number),
    );
    assert.deepEqual(
      versions.map((v) => `${v.run_number}:${v.version}:${v.status}`).sort(),
      runs.map((n) => `${n}:0:completed`).sort(),
    );
    return runs.filter((n) => reductions(n) !== 1);
  };
  const sendDataReady = (body: string) => client.transport.send("/queue/POSTPROCESS.DATA_READY", { body });

  before(async () => {
    [broker, pg] = await Promise.all([privateActiveMQ(scratch.path), privatePostgres()]);
    ledger = join(scratch.path, "ledger.txt");
    writeFileSync(ledger, "");
    d = makeDeployment({
      database: { url: pg.url },
      transport: {
        kind: "stomp",
        stomp: { brokers: [`127.0.0.1:${broker.port}`], heartbeat_seconds: 2, reconnect_max_seconds: 2 },
      },
      instruments: { FAC: {}, SLOW: {} },
      worker: { max_procs: 2, retry: { attempts: 5, initial_seconds: 1, max_seconds: 2 } },
      heartbeat: { interval_seconds: 1 },
      log_level: "info",
    });
    d.writeScript("FAC", script(ledger));
    d.writeScript("SLOW", SLOW);
    const config = configFromObject(
      { transport: { kind: "stomp", stomp: { brokers: [`127.0.0.1:${broker.port}`] } } },
      "(test)",
      {},
    );
    client = await openTransport(config, createLogger("error", "test"));
    start("coordinator", ["coordinator"]);
    start("listener", ["listener"]);
    start("worker-1", ["worker"]);
    start("worker-2", ["worker"]);
  });
  after(async () => {
    await client?.close();
    await Promise.all([...daemons.values()].map((dm) => dm.kill()));
    await broker?.stop();
    pg?.remove();
    scratch.cleanup();
  });

  test("50 runs dropped into the archive are each reduced exactly once by two workers", async () => {
    const runs = Array.from({ length: 50 }, (_, i) => i + 1);
    for (const n of runs) await d.writeRun("FAC", n);
    await completed(runs, 120_000, "50 runs completed");
    assert.deepEqual(await reducedOnce(runs), [], "runs whose script ran other than once");
    assert.deepEqual(alive().sort(), ["coordinator", "listener", "worker-1", "worker-2"]);
  });

  test("the broker killed and restarted while runs flow: every run reduced once, nobody exits", async () => {
    const runs = Array.from({ length: 20 }, (_, i) => 101 + i);
    for (const n of runs.slice(0, 8)) await d.writeRun("FAC", n);
    broker.kill();
    await waitFor(async () => !(await portOpen(broker.port)), "the broker to be gone");
    for (const n of runs.slice(8, 14)) await d.writeRun("FAC", n);
    await broker.start();
    for (const n of runs.slice(14)) await d.writeRun("FAC", n);
    await completed(runs, 180_000, "20 runs completed across the broker restart");
    // A job whose worker finished it while the broker was down cannot be acknowledged; the broker
    // delivers it again after the restart, possibly to the other worker. The job ledger beside
    // the logs tells that worker the job ran (or still runs) elsewhere, so no script runs twice.
    assert.deepEqual(await reducedOnce(runs), [], "runs whose script ran other than once");
    assert.deepEqual(alive().sort(), ["coordinator", "listener", "worker-1", "worker-2"]);
    for (const name of ["coordinator", "listener", "worker-1", "worker-2"]) {
      assert.match(
        daemons.get(name)?.output() ?? "",
        /broker connected|connected to/i,
        `${name} reconnected`,
      );
    }
  });

  test("a worker killed mid-reduction: the other worker reduces the run", async () => {
    const file = await d.writeRun("SLOW", 7);
    let running: RunView | undefined;
    await waitFor(
      async () => {
        running = (await runsJson(d.configFile)).find(
          (r) => r.instrument === "SLOW" && r.status === "running",
        );
        return running;
      },
      "the slow run to start",
      60_000,
      200,
    );
    const outDir = running?.output_dir ?? "";
    const pidFile = await waitFor(
      () => (existsSync(outDir) ? readdirSync(outDir).find((n) => n.startsWith("pid-")) : undefined),
      "the script to record its pid",
    );
    const scriptPid = Number(readFileSync(join(outDir, pidFile), "utf8"));
    const owner = ownerOf(scriptPid, daemons);
    assert.ok(owner?.startsWith("worker-"), `the script runs under a worker (found ${owner})`);
    await daemons.get(owner ?? "")?.kill();
    await waitFor(() => !existsSync(`/proc/${scriptPid}`), "the orphaned script to be ended", 15_000);
    writeFileSync(join(outDir, "release"), "");
    const done = await waitFor(
      async () =>
        (await runsJson(d.configFile)).find((r) => r.instrument === "SLOW" && r.status === "completed"),
      "the run completed by the other worker",
      60_000,
      200,
    );
    assert.equal(done.attempts, 2, "the interrupted attempt is recorded");
    assert.equal(done.data_file, file);
    start(owner ?? "worker-x", ["worker"]); // back to two workers
  });

  test("PostgreSQL restarted while the coordinator consumes: nothing lost, the coordinator recovers", async () => {
    await daemons.get("listener")?.stop(); // from here on the test sends DATA_READY itself
    const runs = [201, 202, 203, 204, 205];
    const files = new Map<number, string>();
    for (const n of runs) files.set(n, await d.writeRun("FAC", n));
    pg.stop("fast");
    for (const n of runs) {
      await sendDataReady(
        JSON.stringify({
          facility: "SNS",
          instrument: "FAC",
          ipts: "IPTS-1234",
          run_number: n,
          data_file: files.get(n),
        }),
      );
    }
    await waitFor(
      () => /database unreachable/.test(daemons.get("coordinator")?.output() ?? ""),
      "the coordinator to notice the database is gone",
      30_000,
    );
    await pg.start();
    await completed(runs, 120_000, "the runs sent while the database was down");
    assert.deepEqual(await reducedOnce(runs), []);
    assert.match(daemons.get("coordinator")?.output() ?? "", /database reachable again/);
    assert.equal(daemons.get("coordinator")?.proc.exitCode, null, "the coordinator is still running");
  });

  test("SNS-shaped DATA_READY messages are accepted; malformed ones go to POSTPROCESS.ERROR with reason and body", async () => {
    const errors: IncomingMessage[] = [];
    const sub = await client.transport.subscribe("/queue/POSTPROCESS.ERROR", async (m) => {
      errors.push(m);
    });
    const sns = await d.writeRun("FAC", 301);
    const bare = await d.writeRun("FAC", 302);
    // SNS's workflow manager and STC: run number as a string, lower-case instrument, a bare path.
    await sendDataReady(
      JSON.stringify({
        facility: "SNS",
        instrument: "fac",
        ipts: "IPTS-1234",
        run_number: "301",
        data_file: sns,
      }),
    );
    await sendDataReady(bare);
    const malformed = [
      "this is not json {",
      JSON.stringify({ facility: "SNS", instrument: "FAC", ipts: "IPTS-1234", data_file: sns }),
      JSON.stringify({ facility: "SNS", instrument: "NOPE", ipts: "IPTS-1", run_number: 1, data_file: sns }),
      "/somewhere/else/entirely.nxs.h5",
    ];
    for (const body of malformed) await sendDataReady(body);
    await completed([301, 302], 60_000, "the SNS-shaped runs");
    await waitFor(
      () => errors.length >= malformed.length,
      "the malformed messages on the error queue",
      30_000,
    );
    await sub.unsubscribe();
    const received = errors.map((m) => JSON.parse(m.body) as { error: string; original_body: string });
    for (const body of malformed) {
      const found = received.find((r) => r.original_body === body);
      assert.ok(found, `error-queue entry for ${body}`);
      assert.ok(found.error.length > 10, `a reason for ${body}: ${found.error}`);
    }
    assert.match(received.find((r) => r.original_body === malformed[1])?.error ?? "", /run_number/);
    assert.match(
      received.find((r) => r.original_body === malformed[2])?.error ?? "",
      /unknown instrument "NOPE"/,
    );
  });
});

/** Which of our daemons the process belongs to, following its parents. */
function ownerOf(pid: number, daemons: Map<string, Daemon>): string | undefined {
  let current = pid;
  for (let hops = 0; hops < 10 && current > 1; hops++) {
    for (const [name, daemon] of daemons) if (daemon.proc.pid === current) return name;
    try {
      const stat = readFileSync(`/proc/${current}/stat`, "utf8");
      current = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
