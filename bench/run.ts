// npm run bench: measures the pipeline side by side with its ceiling in one run and prints a
// Markdown table for docs/performance.md. Options: --runs N (default 200), --concurrency N (4).
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { listenerBench } from "./listener-bench.ts";
import {
  type DatabaseFactory,
  overhead,
  type ThroughputFigure,
  throughputVsCeiling,
} from "./pipeline-bench.ts";
import { ms } from "./stats.ts";
import { idleWorkerRss, supervisionCpuPerJob } from "./worker-bench.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "200" },
    concurrency: { type: "string", default: "4" },
    "pool-runs": { type: "string", default: "1000" },
    only: { type: "string", default: "" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    "usage: npm run bench -- [--runs N] [--concurrency N] [--pool-runs N] [--only pipeline|worker|listener]\n",
  );
  process.exit(0);
}
const runs = Number(values.runs);
const concurrency = Number(values.concurrency);
const pool = { runs: Number(values["pool-runs"]) };
const say = (text: string) => process.stderr.write(`bench: ${text}\n`);

const backends: Array<[string, DatabaseFactory | undefined]> = [
  ["SQLite (default)", undefined],
  ["PostgreSQL", createTestDatabase],
];
const out = [
  "| backend | measure | median / value | p95 / ceiling | ratio | target |",
  "|---|---|---|---|---|---|",
];

say(`${runs} runs, concurrency ${concurrency}, ${cpus().length} cores`);
const part = (name: string) => !values.only || values.only === name;
for (const [name, factory] of part("pipeline") ? backends : []) {
  say(`${name}: overhead, ${runs} runs one at a time`);
  const o = await overhead(runs, factory);
  out.push(
    `| ${name} | DATA_READY sent → script starts | ${ms(o.dispatch.median)} | ${ms(o.dispatch.p95)} | | < 20 ms median |`,
  );
  out.push(
    `| ${name} | script exits → reduction \`completed\` | ${ms(o.completion.median)} | ${ms(o.completion.p95)} | | < 20 ms median |`,
  );
}
const row = (name: string, f: ThroughputFigure) => {
  const where = f.workerProcess ? "worker in its own process" : "one process (`serve`)";
  return `| ${name} | throughput, ${runs} queued no-op \`${f.interpreter}\` runs, ${concurrency} at once, ${where} | ${f.pipeline.toFixed(1)} runs/s | ${f.ceiling.toFixed(1)} runs/s | **${((100 * f.pipeline) / f.ceiling).toFixed(0)} %** | ≥ 90 % |`;
};
for (const [name, factory] of part("pipeline") ? backends : []) {
  for (const interpreter of ["python3", "bash"] as const) {
    for (const workerProcess of [false, true]) {
      if (name === "PostgreSQL" && interpreter === "bash" && workerProcess) continue;
      say(`${name}: throughput, ${interpreter}, ${workerProcess ? "worker process" : "one process"}`);
      out.push(row(name, await throughputVsCeiling(runs, concurrency, interpreter, workerProcess, factory)));
    }
  }
}
say(`worker pool: 4 worker processes x 2 slots, ${pool.runs} queued no-op runs`);
for (const interpreter of part("worker") ? (["python3", "bash"] as const) : []) {
  const runsHere = interpreter === "bash" ? Math.min(pool.runs, 300) : pool.runs;
  const f = await throughputVsCeiling(runsHere, 8, interpreter, true, undefined, 4, 1);
  out.push(
    `| SQLite (default) | pool: ${runsHere} queued no-op \`${interpreter}\` runs, 4 worker processes × 2 slots | ${f.pipeline.toFixed(1)} runs/s | ${f.ceiling.toFixed(1)} runs/s (spawn loop, 8 at once) | **${((100 * f.pipeline) / f.ceiling).toFixed(0)} %** | ≥ 90 % |`,
  );
}
if (part("worker")) {
  say("idle worker memory");
  const rss = await idleWorkerRss();
  out.push(
    `| SQLite (default) | idle \`autoreduce worker\` resident memory | ${(rss / 2 ** 20).toFixed(1)} MiB | | | < 60 MB |`,
  );
  say("supervision CPU per running job (8 jobs, 1 s checks, 10 s)");
  const cpu = await supervisionCpuPerJob();
  out.push(
    `| — | supervision CPU per running job at a 1 s check interval | ${(100 * cpu).toFixed(3)} % of a core | | | < 1 % |`,
  );
}
if (part("listener")) {
  say("listener detection delay");
  const detection = await listenerBench(50);
  out.push(
    `| SQLite (default) | listener: completion marker written → DATA_READY sent (50 runs) | ${ms(detection.median)} | ${ms(detection.p95)} | | (reported) |`,
  );
}
process.stdout.write(`${out.join("\n")}\n`);
process.exit(0);
