// Worker figures: idle memory of a worker process, and the CPU the local executor's supervision
// (one /proc scan per check interval for every running job) costs per running job.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalExecutor } from "../src/executors/local-executor.ts";
import { tempDir } from "../test/helpers/temp-dir.ts";
import { waitFor } from "../test/helpers/wait-for.ts";

const BIN = join(import.meta.dirname, "..", "bin", "autoreduce.js");

/** Resident memory (bytes) of an idle `autoreduce worker` process, `settleMs` after it started. */
export async function idleWorkerRss(settleMs = 5000, stompBroker?: string): Promise<number> {
  const scratch = tempDir("autoreduce-rss-");
  const configFile = join(scratch.path, "autoreduce.yaml");
  const transport = stompBroker
    ? `transport:\n  kind: stomp\n  stomp:\n    brokers: ["${stompBroker}"]\n`
    : "";
  writeFileSync(configFile, `data_dir: ${scratch.path}\n${transport}`);
  const child = spawn(process.execPath, [BIN, "worker", "--config", configFile], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  try {
    await waitFor(() => err.includes("worker started"), "the worker to start", 30_000);
    await new Promise((r) => setTimeout(r, settleMs));
    const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    scratch.cleanup();
  }
}

/**
 * CPU share of one running job's supervision at the given check interval: this process's CPU
 * time while `jobs` sleeping scripts run under limits, minus the same time with none running,
 * per job and per second of wall time.
 */
export async function supervisionCpuPerJob(jobs = 8, seconds = 10, intervalMs = 1000): Promise<number> {
  const baseline = await cpuDuring(seconds, async () => {});
  const scratch = tempDir("autoreduce-supervise-");
  const executor = new LocalExecutor();
  try {
    const loaded = await cpuDuring(seconds, async () => {
      const handles = await Promise.all(
        Array.from({ length: jobs }, (_, i) =>
          executor.start({
            command: "sleep",
            args: [String(seconds + 5)],
            cwd: scratch.path,
            env: { PATH: process.env.PATH ?? "" },
            stdoutFile: join(scratch.path, `${i}.log`),
            stderrFile: join(scratch.path, `${i}.err`),
            tailLines: 5,
            limits: {
              memoryBytes: 1 << 30,
              wallSeconds: 3600,
              stallSeconds: 3600,
              checkIntervalMs: intervalMs,
            },
          }),
        ),
      );
      return async () => {
        await Promise.all(handles.map((h) => h.cancel("bench done")));
      };
    });
    return (loaded - baseline) / jobs / seconds;
  } finally {
    await executor.close();
    scratch.cleanup();
  }
}

/** CPU seconds this process used over `seconds` after `setUp` (whose returned cleanup runs after). */
async function cpuDuring(
  seconds: number,
  setUp: () => Promise<(() => Promise<void>) | undefined | void>,
): Promise<number> {
  const cleanup = await setUp();
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = process.cpuUsage(before);
  if (cleanup) await cleanup();
  return (used.user + used.system) / 1e6;
}
