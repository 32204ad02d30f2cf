import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { Coordinator } from "../src/coordinator/coordinator.ts";
import { silentLogger } from "../src/logging/logger.ts";
import { listRuns } from "../src/store/run-views.ts";
import { ReductionWorker } from "../src/worker/reduction-worker.ts";
import { openStack, type Stack } from "../test/helpers/in-process.ts";
import { tempDir } from "../test/helpers/temp-dir.ts";
import {
  type CpuPart,
  cpuPerRun,
  cpuSnapshot,
  findProcesses,
  parentOf,
  reapedChildrenCpu,
} from "./cpu-accounting.ts";
import { summarize } from "./stats.ts";

/** The no-op reductions: bash (measures our overhead alone) and python3 (what facilities run). */
export const NOOP = {
  bash: `name=$(basename "$1")
echo "$EPOCHREALTIME" > "$2/start-$name"
echo "$EPOCHREALTIME" > "$2/end-$name"
`,
  python3: `import sys
`,
} as const;
export type Interpreter = keyof typeof NOOP;

/** Makes a fresh database for one measurement (PostgreSQL); SQLite gets a fresh file anyway. */
export type DatabaseFactory = () => Promise<{ url: string; drop: () => Promise<void> }>;

/** Where a measurement keeps state and sends messages. */
export interface Backend {
  name: string;
  /** A fresh PostgreSQL database per measurement; none: SQLite in the scratch folder. */
  database?: DatabaseFactory;
  /** The `transport:` config section; none: the embedded transport. */
  transport?: Record<string, unknown>;
}

async function setUp(
  concurrency: number,
  backend: Backend,
  workerProcess = false,
  interpreter: Interpreter = "bash",
  workers = 1,
) {
  const fresh = backend.database ? await backend.database() : null;
  const stack = await openStack(
    {
      ...(backend.transport ? { transport: backend.transport } : {}),
      instruments: { BENCH: { interpreter } },
      // A bash script must not be named .py: a .py script is started through the Python runner.
      scripts: { file: interpreter === "bash" ? "reduce_{instrument}.sh" : "reduce_{instrument}.py" },
      worker: { max_procs: Math.ceil(concurrency / workers), jobs_per_instrument: 0 },
    },
    fresh?.url,
  );
  const scriptDir = join(stack.config.scripts.root, "BENCH");
  mkdirSync(scriptDir, { recursive: true });
  writeFileSync(
    join(scriptDir, interpreter === "bash" ? "reduce_BENCH.sh" : "reduce_BENCH.py"),
    NOOP[interpreter],
  );
  const log = silentLogger();
  const coordinator = await Coordinator.start({ ...stack, log });
  const pool = workerProcess
    ? await Promise.all(Array.from({ length: workers }, () => startWorkerProcess(stack)))
    : [await ReductionWorker.start({ config: stack.config, transport: stack.transport, log })];
  const close = async () => {
    await Promise.all(pool.map((w) => w.stop()));
    await coordinator.stop();
    await stack.close();
    await fresh?.drop();
  };
  const workerPids = pool.flatMap((w) => ("pid" in w && w.pid !== undefined ? [w.pid] : []));
  return { stack, close, workerPids };
}

/** `autoreduce worker` as its own OS process, as in a split deployment. */
async function startWorkerProcess(stack: Stack): Promise<{ pid: number | undefined; stop(): Promise<void> }> {
  const configFile = join(stack.dir, "autoreduce.yaml");
  writeFileSync(configFile, stringify({ ...stack.raw, data_dir: stack.dir }));
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, "..", "bin", "autoreduce.js"), "worker", "--config", configFile],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (err.includes("worker started")) {
        clearInterval(t);
        resolve();
      }
      if (child.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`worker exited: ${err}`));
      }
    }, 10);
  });
  return {
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

function dataFile(stack: Stack, run: number): string {
  const path = join(stack.config.archive.roots[0] ?? "", "BENCH", "IPTS-1", "nexus", `BENCH_${run}.nxs.h5`);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, "raw");
  return path;
}

async function send(stack: Stack, run: number, path: string): Promise<number> {
  const body = JSON.stringify({
    facility: "SNS",
    instrument: "BENCH",
    ipts: "IPTS-1",
    run_number: run,
    data_file: path,
  });
  const t = Date.now();
  await stack.transport.send(stack.config.queues.data_ready, { body });
  return t;
}

async function waitAllDone(stack: Stack, count: number): Promise<void> {
  for (;;) {
    const runs = await stack.database.db
      .selectFrom("jobs")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("status", "=", "completed")
      .executeTakeFirstOrThrow();
    if (Number(runs.n) >= count) return;
    await new Promise((r) => setTimeout(r, 25)); // a poll costs the database too: not too often
  }
}

const epochMs = (file: string) => Number(readFileSync(file, "utf8").trim()) * 1000;

/** Sends runs one at a time and measures the time around the script. */
async function overhead(runs: number, backend: Backend) {
  const { stack, close } = await setUp(1, backend);
  const dispatch: number[] = [];
  const completion: number[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const path = dataFile(stack, run);
      const sent = await send(stack, run, path);
      await waitAllDone(stack, run);
      const [view] = await listRuns(stack.database, { runNumber: run });
      const out = view?.output_dir ?? "";
      const row = await stack.database.db
        .selectFrom("jobs")
        .select("updated_at")
        .where("job_id", "=", view?.job_id ?? "")
        .executeTakeFirstOrThrow();
      dispatch.push(epochMs(join(out, `start-BENCH_${run}.nxs.h5`)) - sent);
      completion.push(Number(row.updated_at) - epochMs(join(out, `end-BENCH_${run}.nxs.h5`)));
    }
  } finally {
    await close();
  }
  return { dispatch: summarize(dispatch), completion: summarize(completion) };
}

/** Queues `runs` at once and measures runs per second through the whole pipeline. */
export async function throughput(
  runs: number,
  concurrency: number,
  backend: Backend,
  workerProcess = false,
  interpreter: Interpreter = "bash",
  workers = 1,
): Promise<{ rate: number; cpu: Record<string, number> }> {
  const { stack, close, workerPids } = await setUp(concurrency, backend, workerProcess, interpreter, workers);
  try {
    const paths = Array.from({ length: runs }, (_, i) => dataFile(stack, i + 1));
    const parts = () => cpuParts(workerPids, backend);
    const before = cpuSnapshot(parts());
    const start = Date.now();
    for (let i = 0; i < runs; i++) await send(stack, i + 1, paths[i] ?? "");
    await waitAllDone(stack, runs);
    const rate = runs / ((Date.now() - start) / 1000);
    return { rate, cpu: cpuPerRun(before, cpuSnapshot(parts()), runs) };
  } finally {
    await close();
  }
}

/**
 * The processes of a throughput measurement: this process (the coordinator, the bench's own
 * sending and polling, and the worker when it runs in-process), the worker processes, their
 * launchers, the scripts (the launchers' trees), and the broker and database servers.
 */
function cpuParts(workerPids: number[], backend: Backend): CpuPart[] {
  const launchers = findProcesses(/launcher\.(py|mjs)/).filter((pid) => {
    const parent = parentOf(pid);
    return parent === process.pid || (parent !== null && workerPids.includes(parent));
  });
  const parts: CpuPart[] = [
    { name: "coordinator", pids: [process.pid] },
    { name: "workers", pids: workerPids },
    { name: "launchers", pids: launchers },
    { name: "scripts", pids: launchers, count: "descendants" },
  ];
  if (backend.transport)
    parts.push({ name: "broker", pids: findProcesses(/java .*activemq/), count: "tree" });
  if (backend.database)
    parts.push({ name: "database", pids: findProcesses(/postgres.* -D /), count: "tree" });
  return parts;
}

/** The ceiling: the same script spawned in a plain loop at the same concurrency, from a small process. */
export async function spawnCeiling(
  runs: number,
  concurrency: number,
  interpreter: Interpreter,
): Promise<{ rate: number; cpuMsPerRun: number }> {
  const scratch = tempDir("autoreduce-ceiling-");
  const reapedBefore = reapedChildrenCpu();
  try {
    const script = join(scratch.path, "noop");
    writeFileSync(script, NOOP[interpreter]);
    const args = [
      join(import.meta.dirname, "ceiling.mjs"),
      String(runs),
      String(concurrency),
      interpreter,
      script,
      scratch.path,
    ];
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        cwd: scratch.path,
        stdio: ["ignore", "pipe", "inherit"],
      });
      let text = "";
      child.stdout.on("data", (d) => {
        text += d;
      });
      child.on("exit", (code) =>
        code === 0 ? resolve(text) : reject(new Error(`ceiling exited with ${code}`)),
      );
    });
    return { rate: Number(out.trim()), cpuMsPerRun: ((reapedChildrenCpu() - reapedBefore) * 1000) / runs };
  } finally {
    scratch.cleanup();
  }
}

export interface ThroughputFigure {
  interpreter: Interpreter;
  workerProcess: boolean;
  pipeline: number;
  ceiling: number;
  /** CPU milliseconds per run, by part (see `cpuParts`), averaged over the rounds. */
  cpu: Record<string, number>;
  /** CPU milliseconds per run of the ceiling: the scripts and the small loop that spawns them. */
  ceilingCpu: number;
}

/** Pipeline and ceiling measured alternately (twice each) so that machine noise hits both alike. */
export async function throughputVsCeiling(
  runs: number,
  concurrency: number,
  interpreter: Interpreter,
  workerProcess: boolean,
  backend: Backend,
  workers = 1,
  rounds = 2,
): Promise<ThroughputFigure> {
  let pipeline = 0;
  let ceiling = 0;
  let ceilingCpu = 0;
  const cpu: Record<string, number> = {};
  for (let round = 0; round < rounds; round++) {
    const measured = await throughput(runs, concurrency, backend, workerProcess, interpreter, workers);
    pipeline += measured.rate;
    for (const [part, ms] of Object.entries(measured.cpu)) cpu[part] = (cpu[part] ?? 0) + ms / rounds;
    const loop = await spawnCeiling(runs, concurrency, interpreter);
    ceiling += loop.rate;
    ceilingCpu += loop.cpuMsPerRun / rounds;
  }
  return {
    interpreter,
    workerProcess,
    pipeline: pipeline / rounds,
    ceiling: ceiling / rounds,
    cpu,
    ceilingCpu,
  };
}

export { overhead };
