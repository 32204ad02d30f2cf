import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Coordinator } from "../src/coordinator/coordinator.ts";
import { silentLogger } from "../src/logging/logger.ts";
import { listRuns } from "../src/store/run-views.ts";
import { ReductionWorker } from "../src/worker/reduction-worker.ts";
import { openStack, type Stack } from "../test/helpers/in-process.ts";
import { tempDir } from "../test/helpers/temp-dir.ts";
import { summarize } from "./stats.ts";

// A no-op reduction: records when it started and when it is about to exit (bash's clock).
const NOOP = `name=$(basename "$1")
echo "$EPOCHREALTIME" > "$2/start-$name"
echo "$EPOCHREALTIME" > "$2/end-$name"
`;

export interface PipelineFigures {
  dispatch: ReturnType<typeof summarize>;
  completion: ReturnType<typeof summarize>;
  throughput: number;
  ceiling: number;
  concurrency: number;
  runs: number;
}

async function setUp(concurrency: number, databaseUrl?: string) {
  const stack = await openStack(
    { instruments: { BENCH: { interpreter: "bash" } }, worker: { max_procs: concurrency } },
    databaseUrl,
  );
  const scriptDir = join(stack.config.scripts.root, "BENCH");
  mkdirSync(scriptDir, { recursive: true });
  writeFileSync(join(scriptDir, "reduce_BENCH.py"), NOOP);
  const log = silentLogger();
  const coordinator = await Coordinator.start({ ...stack, log });
  const worker = await ReductionWorker.start({ config: stack.config, transport: stack.transport, log });
  const close = async () => {
    await worker.stop();
    await coordinator.stop();
    await stack.close();
  };
  return { stack, close };
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
      .selectFrom("reductions")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("status", "=", "completed")
      .executeTakeFirstOrThrow();
    if (Number(runs.n) >= count) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

const epochMs = (file: string) => Number(readFileSync(file, "utf8").trim()) * 1000;

/** Sends runs one at a time and measures the time around the script. */
async function overhead(runs: number, databaseUrl?: string) {
  const { stack, close } = await setUp(1, databaseUrl);
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
        .selectFrom("reductions")
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
async function throughput(runs: number, concurrency: number, databaseUrl?: string): Promise<number> {
  const { stack, close } = await setUp(concurrency, databaseUrl);
  try {
    const paths = Array.from({ length: runs }, (_, i) => dataFile(stack, i + 1));
    const start = Date.now();
    for (let i = 0; i < runs; i++) await send(stack, i + 1, paths[i] ?? "");
    await waitAllDone(stack, runs);
    return runs / ((Date.now() - start) / 1000);
  } finally {
    await close();
  }
}

/** The ceiling: the same script spawned in a plain loop at the same concurrency. */
export async function spawnCeiling(
  runs: number,
  concurrency: number,
  scriptPath: string,
  outDir: string,
): Promise<number> {
  mkdirSync(outDir, { recursive: true });
  let next = 0;
  const start = Date.now();
  const lane = async () => {
    while (next < runs) {
      const i = next++;
      await new Promise<void>((resolve, reject) => {
        const child = spawn("bash", [scriptPath, `/x/BENCH_${i}.nxs.h5`, outDir], { stdio: "ignore" });
        child.on("exit", () => resolve());
        child.on("error", reject);
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return runs / ((Date.now() - start) / 1000);
}

export async function pipelineBench(
  runs: number,
  concurrency: number,
  databaseUrl?: string,
): Promise<PipelineFigures> {
  const lat = await overhead(runs, databaseUrl);
  const scratch = tempDir("autoreduce-ceiling-");
  try {
    const scriptPath = join(scratch.path, "noop.sh");
    writeFileSync(scriptPath, NOOP);
    const outDir = join(scratch.path, "out");
    // Interleave pipeline and ceiling so that machine noise hits both alike.
    const a = await throughput(runs, concurrency, databaseUrl);
    const c1 = await spawnCeiling(runs, concurrency, scriptPath, outDir);
    const b = await throughput(runs, concurrency, databaseUrl);
    const c2 = await spawnCeiling(runs, concurrency, scriptPath, outDir);
    return { ...lat, throughput: (a + b) / 2, ceiling: (c1 + c2) / 2, concurrency, runs };
  } finally {
    scratch.cleanup();
  }
}
