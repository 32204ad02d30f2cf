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

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "200" },
    concurrency: { type: "string", default: "4" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write("usage: npm run bench -- [--runs N] [--concurrency N]\n");
  process.exit(0);
}
const runs = Number(values.runs);
const concurrency = Number(values.concurrency);
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
for (const [name, factory] of backends) {
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
for (const [name, factory] of backends) {
  for (const interpreter of ["python3", "bash"] as const) {
    for (const workerProcess of [false, true]) {
      if (name === "PostgreSQL" && interpreter === "bash" && workerProcess) continue;
      say(`${name}: throughput, ${interpreter}, ${workerProcess ? "worker process" : "one process"}`);
      out.push(row(name, await throughputVsCeiling(runs, concurrency, interpreter, workerProcess, factory)));
    }
  }
}
say("listener detection delay");
const detection = await listenerBench(50);
out.push(
  `| SQLite (default) | listener: completion marker written → DATA_READY sent (50 runs) | ${ms(detection.median)} | ${ms(detection.p95)} | | (reported) |`,
);
process.stdout.write(`${out.join("\n")}\n`);
process.exit(0);
