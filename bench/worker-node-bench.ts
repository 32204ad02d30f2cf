// The worker node on its own, as SNS deploys it: `autoreduce worker` over ActiveMQ taking the
// workflow manager's REDUCTION.DATA_READY messages (SNS fields only) and answering on
// REDUCTION.COMPLETE; no coordinator, no database. Measures, in one run: the idle memory of the
// worker and of its launcher, the CPU each spends per job, and a burst's throughput and p95.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { configFromObject } from "../src/config/load-config.ts";
import { silentLogger } from "../src/logging/logger.ts";
import { openTransport } from "../src/transport/open-transport.ts";
import { isolatedQueues } from "../test/helpers/brokers.ts";
import { tempDir } from "../test/helpers/temp-dir.ts";
import { waitFor } from "../test/helpers/wait-for.ts";
import { cpuPerRun, cpuSnapshot, findProcesses, parentOf } from "./cpu-accounting.ts";
import { NOOP } from "./pipeline-bench.ts";
import { summarize } from "./stats.ts";

const BIN = join(import.meta.dirname, "..", "bin", "autoreduce.js");

export interface WorkerNodeFigures {
  /** Which launcher the worker ran ("python3 (/usr/bin/python3)"). */
  launcher: string;
  /** Resident memory (bytes) at rest, after one job (so the launcher runs) and a settling pause. */
  idleRss: { worker: number; launcher: number };
  /** CPU milliseconds per job over the burst. */
  cpuMs: { worker: number; launcher: number };
  burst: { runs: number; runsPerSecond: number; p95Ms: number; medianMs: number };
}

/** Resident memory of a live process, in bytes. */
function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/**
 * A burst of `runs` no-op python3 jobs to one worker (default slots) over the broker at `broker`.
 * `nodeArgs` go to the worker's Node (e.g. `--cpu-prof` to profile it).
 */
export async function workerNodeBench(
  broker: string,
  runs = 200,
  settleMs = 5000,
  nodeArgs: string[] = [],
): Promise<WorkerNodeFigures> {
  const scratch = tempDir("autoreduce-node-bench-");
  const python = realPython();
  const queues = isolatedQueues(`NODE${process.pid}`);
  const stomp = { brokers: [broker] };
  const archive = join(scratch.path, "archive");
  const scripts = join(scratch.path, "scripts", "BENCH");
  mkdirSync(scripts, { recursive: true });
  writeFileSync(join(scripts, "reduce_BENCH.py"), NOOP.python3);
  const configFile = join(scratch.path, "autoreduce.yaml");
  writeFileSync(
    configFile,
    stringify({
      data_dir: scratch.path,
      log_level: "info",
      archive: { roots: [archive] },
      // The interpreter itself, not a wrapper found on PATH: a pyenv shim costs ~0.3 s a start,
      // more under `npm run` (whose PATH puts pyenv-virtualenv's shims first).
      scripts: { root: join(scratch.path, "scripts"), interpreter: python, python },
      instruments: { BENCH: {} },
      transport: { kind: "stomp", stomp },
      queues,
    }),
  );
  const client = await openTransport(
    configFromObject({ transport: { kind: "stomp", stomp } }, "(bench)", {}),
    silentLogger(),
  );
  const completed = new Map<string, number>();
  await client.transport.subscribe(queues.reduction_complete ?? "", async (m) => {
    completed.set(String((JSON.parse(m.body) as { run_number: unknown }).run_number), Date.now());
  });
  const worker = spawn(process.execPath, [...nodeArgs, BIN, "worker", "--config", configFile], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  worker.stderr.on("data", (d) => {
    err += d;
  });
  try {
    await waitFor(
      () => err.includes("worker started") || worker.exitCode !== null,
      "the worker to start",
      30_000,
    );
    if (worker.exitCode !== null) throw new Error(`the worker exited: ${err}`);
    const launcher = /launcher \(starts local scripts\): ([^"]*)/.exec(err)?.[1] ?? "?";
    const send = async (run: number) => {
      const dataFile = join(archive, "BENCH", "IPTS-1", "nexus", `BENCH_${run}.nxs.h5`);
      mkdirSync(join(dataFile, ".."), { recursive: true });
      writeFileSync(dataFile, "raw");
      const job = {
        data_file: dataFile,
        facility: "SNS",
        instrument: "BENCH",
        ipts: "IPTS-1",
        run_number: String(run),
      };
      await client.transport.send(queues.reduction_data_ready ?? "", { body: JSON.stringify(job) });
    };
    // One job first: the launcher starts with the first job, and the figures are for a used node.
    await send(0);
    await waitFor(() => completed.has("0"), "the first job's COMPLETE", 60_000);
    await new Promise((r) => setTimeout(r, settleMs));
    const launcherPid = launcherOf(worker);
    const idleRss = { worker: rss(worker.pid ?? 0), launcher: rss(launcherPid) };
    const parts = [
      { name: "worker", pids: [worker.pid ?? 0] },
      { name: "launcher", pids: [launcherPid] },
    ];
    const before = cpuSnapshot(parts);
    const sentAt = Date.now();
    for (let run = 1; run <= runs; run++) await send(run);
    await waitFor(() => completed.size > runs, `${runs} COMPLETE replies`, 200_000, 50).catch((e) => {
      throw new Error(
        `${(e as Error).message}; ${completed.size - 1} came; the worker said: ${err.slice(-3000)}`,
      );
    });
    const cpu = cpuPerRun(before, cpuSnapshot(parts), runs);
    const delays = [...completed.entries()].filter(([run]) => run !== "0").map(([, at]) => at - sentAt);
    const last = Math.max(...delays);
    const { median, p95 } = summarize(delays);
    return {
      launcher,
      idleRss,
      cpuMs: { worker: cpu.worker ?? Number.NaN, launcher: cpu.launcher ?? Number.NaN },
      burst: { runs, runsPerSecond: runs / (last / 1000), p95Ms: p95, medianMs: median },
    };
  } finally {
    worker.kill("SIGTERM");
    await new Promise((r) => (worker.exitCode !== null ? r(null) : worker.once("exit", r)));
    await client.close();
    scratch.cleanup();
  }
}

/** The worker's launcher process (a child running launcher.py or launcher.mjs). */
function launcherOf(worker: ChildProcess): number {
  const pid = findProcesses(/launcher\.(py|mjs)/).find((p) => parentOf(p) === worker.pid);
  if (pid === undefined) throw new Error("the worker has no launcher process");
  return pid;
}

function realPython(): string {
  return execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
}
