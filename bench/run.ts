// npm run bench: measures the pipeline side by side with its ceiling in one run, and prints a
// Markdown table for docs/performance.md. Options: --runs N (default 200), --concurrency N (4).
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { listenerBench } from "./listener-bench.ts";
import { type PipelineFigures, pipelineBench } from "./pipeline-bench.ts";
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

function rows(name: string, f: PipelineFigures): string[] {
  const ratio = (100 * f.throughput) / f.ceiling;
  return [
    `| ${name} | DATA_READY sent → script starts | ${ms(f.dispatch.median)} | ${ms(f.dispatch.p95)} | < 20 ms median |`,
    `| ${name} | script exits → reduction \`completed\` | ${ms(f.completion.median)} | ${ms(f.completion.p95)} | < 20 ms median |`,
    `| ${name} | throughput, ${f.runs} queued no-op runs, ${f.concurrency} at once | ${f.throughput.toFixed(1)} runs/s | ceiling ${f.ceiling.toFixed(1)} runs/s = **${ratio.toFixed(0)} %** | ≥ 90 % |`,
  ];
}

process.stderr.write(`bench: ${runs} runs, concurrency ${concurrency}, ${cpus().length} cores\n`);
const out = ["| backend | measure | median / value | p95 / ratio | target |", "|---|---|---|---|---|"];
process.stderr.write("bench: embedded on SQLite...\n");
out.push(...rows("SQLite (default)", await pipelineBench(runs, concurrency)));
process.stderr.write("bench: embedded on PostgreSQL...\n");
const pg = await createTestDatabase();
try {
  out.push(...rows("PostgreSQL", await pipelineBench(runs, concurrency, pg.url)));
} finally {
  await pg.drop();
}
process.stderr.write("bench: listener detection delay...\n");
const detection = await listenerBench(50);
out.push(
  `| SQLite (default) | listener: completion marker written → DATA_READY sent | ${ms(detection.median)} | ${ms(detection.p95)} | (reported) |`,
);
process.stdout.write(`${out.join("\n")}\n`);
process.exit(0);
