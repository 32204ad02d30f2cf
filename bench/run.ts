// npm run bench: measures the pipeline side by side with its ceiling in one run and prints a
// Markdown table for docs/performance.md. Options: --runs N (default 200), --concurrency N (4).
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isolatedQueues } from "../test/helpers/brokers.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { changeFeedLatency } from "./changefeed-bench.ts";
import { listenerBench } from "./listener-bench.ts";
import { type Backend, overhead, type ThroughputFigure, throughputVsCeiling } from "./pipeline-bench.ts";
import { ms } from "./stats.ts";
import { webBench, webRows } from "./web-bench.ts";
import { idleWorkerRss, supervisionCpuPerJob } from "./worker-bench.ts";
import { workerNodeBench } from "./worker-node-bench.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "200" },
    concurrency: { type: "string", default: "4" },
    "pool-runs": { type: "string", default: "1000" },
    "web-runs": { type: "string", default: "1000000" },
    only: { type: "string", default: "" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    "usage: npm run bench -- [--runs N] [--concurrency N] [--pool-runs N] [--web-runs N] [--only pipeline|facility|worker|node|listener|changefeed|web]\n",
  );
  process.exit(0);
}
// Worker processes run the bundle in dist/ only when it is newer than every source (else they go
// through tsx, slower to start and larger): build it first, as `npm test` does.
execFileSync(process.execPath, [join(import.meta.dirname, "..", "scripts", "build.mjs")], {
  stdio: "inherit",
});
const runs = Number(values.runs);
const concurrency = Number(values.concurrency);
const pool = { runs: Number(values["pool-runs"]) };
const say = (text: string) => process.stderr.write(`bench: ${text}\n`);

// The facility backend talks to the ActiveMQ that the test services script starts (installing it
// if needed), as `npm test` does.
const activemq = () =>
  execFileSync(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "..", "scripts", "services", "cli.ts"), "start"],
    {
      encoding: "utf8",
    },
  ).match(/^AUTOREDUCE_TEST_ACTIVEMQ=(.*)$/m)?.[1] ?? "";
const backends: Backend[] = [
  { name: "SQLite (default)" },
  { name: "PostgreSQL", database: createTestDatabase },
];
if (!values.only || values.only === "pipeline" || values.only === "facility") {
  backends.push({
    name: "ActiveMQ + PostgreSQL",
    database: createTestDatabase,
    transport: { kind: "stomp", stomp: { brokers: [activemq()] } },
  });
}
const facility = backends[2];
const out = [
  "| backend | measure | median / value | p95 / ceiling | ratio | target |",
  "|---|---|---|---|---|---|",
];

say(`${runs} runs, concurrency ${concurrency}, ${cpus().length} cores`);
const part = (name: string) => !values.only || values.only === name;
for (const backend of part("pipeline") || part("facility") ? backends : []) {
  const { name } = backend;
  if (values.only === "facility" && backend !== facility) continue;
  const target = backend === facility ? "< 30 ms median" : "< 20 ms median";
  say(`${name}: overhead, ${runs} runs one at a time`);
  const o = await overhead(runs, backend);
  out.push(
    `| ${name} | DATA_READY sent → script starts | ${ms(o.dispatch.median)} | ${ms(o.dispatch.p95)} | | ${target} |`,
  );
  out.push(
    `| ${name} | script exits → reduction \`completed\` | ${ms(o.completion.median)} | ${ms(o.completion.p95)} | | ${target} |`,
  );
}
// Where the CPU of each split-deployment measurement went (ms per run), printed as a second table.
const CPU_PARTS = ["scripts", "launchers", "workers", "coordinator", "broker", "database"] as const;
const cpuRows = [
  `| backend | measurement | ${CPU_PARTS.join(" | ")} | total | ceiling (scripts + loop) |`,
  `|---|---|${CPU_PARTS.map(() => "---|").join("")}---|---|`,
];
const cpuRow = (name: string, what: string, f: ThroughputFigure) => {
  const cells = CPU_PARTS.map((p) => (f.cpu[p] === undefined ? "—" : f.cpu[p].toFixed(1)));
  const total = Object.values(f.cpu).reduce((a, b) => a + b, 0);
  cpuRows.push(
    `| ${name} | ${what} | ${cells.join(" | ")} | ${total.toFixed(1)} | ${f.ceilingCpu.toFixed(1)} |`,
  );
};
const row = (name: string, f: ThroughputFigure) => {
  const where = f.workerProcess ? "worker in its own process" : "one process (`serve`)";
  return `| ${name} | throughput, ${runs} queued no-op \`${f.interpreter}\` runs, ${concurrency} at once, ${where} | ${f.pipeline.toFixed(1)} runs/s | ${f.ceiling.toFixed(1)} runs/s | **${((100 * f.pipeline) / f.ceiling).toFixed(0)} %** | ≥ 90 % |`;
};
for (const backend of part("pipeline") ? backends.slice(0, 2) : []) {
  const { name } = backend;
  for (const interpreter of ["python3", "bash"] as const) {
    for (const workerProcess of [false, true]) {
      if (name === "PostgreSQL" && interpreter === "bash" && workerProcess) continue;
      say(`${name}: throughput, ${interpreter}, ${workerProcess ? "worker process" : "one process"}`);
      const f = await throughputVsCeiling(runs, concurrency, interpreter, workerProcess, backend);
      out.push(row(name, f));
      cpuRow(name, `${interpreter}, ${workerProcess ? "worker process" : "one process"}`, f);
    }
  }
}
if (facility && (part("pipeline") || part("facility"))) {
  // The facility target: two worker processes (2 slots each) against the spawn loop at 4.
  for (const [interpreter, workers] of [
    ["python3", 2],
    ["bash", 2],
  ] as const) {
    say(`${facility.name}: throughput, ${interpreter}, ${workers} worker processes`);
    const f = await throughputVsCeiling(runs, concurrency, interpreter, true, facility, workers);
    out.push(
      `| ${facility.name} | throughput, ${runs} queued no-op \`${interpreter}\` runs, ${workers} worker processes × ${concurrency / workers} slots | ${f.pipeline.toFixed(1)} runs/s | ${f.ceiling.toFixed(1)} runs/s (spawn loop, ${concurrency} at once) | **${((100 * f.pipeline) / f.ceiling).toFixed(0)} %** | ≥ 85 % |`,
    );
    cpuRow(facility.name, `${interpreter}, ${workers} worker processes`, f);
  }
}
for (const interpreter of part("worker") ? (["python3", "bash"] as const) : []) {
  say(`worker pool: 4 worker processes x 2 slots, ${pool.runs} queued no-op ${interpreter} runs`);
  const runsHere = interpreter === "bash" ? Math.min(pool.runs, 300) : pool.runs;
  const f = await throughputVsCeiling(runsHere, 8, interpreter, true, { name: "SQLite" }, 4, 1);
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
  const stompRss = await idleWorkerRss(5000, activemq());
  out.push(
    `| ActiveMQ (STOMP) | idle \`autoreduce worker\` resident memory (no database layer) | ${(stompRss / 2 ** 20).toFixed(1)} MiB | | | < 60 MB |`,
  );
  say("supervision CPU per running job (8 jobs, 1 s checks, 10 s)");
  const cpu = await supervisionCpuPerJob();
  out.push(
    `| — | supervision CPU per running job at a 1 s check interval | ${(100 * cpu).toFixed(3)} % of a core | | | < 1 % |`,
  );
}
if (part("node")) {
  // The worker node as SNS runs it (see worker-node-bench.ts). The SNS agent's figures are from
  // the issue's harness on the same kind of machine (issue 11).
  say(`worker node: SNS-mode worker over ActiveMQ, memory at rest, CPU per job, ${runs}-run burst`);
  const n = await workerNodeBench(activemq(), runs);
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  out.push(
    `| ActiveMQ (STOMP) | worker node at rest: \`autoreduce worker\` + its launcher (${n.launcher}), resident memory | ${mib(n.idleRss.worker + n.idleRss.launcher)} (worker ${mib(n.idleRss.worker)}, launcher ${mib(n.idleRss.launcher)}) | | | ≤ 60 MB |`,
    `| ActiveMQ (STOMP) | worker node CPU per no-op \`python3\` job, worker + launcher | ${(n.cpuMs.worker + n.cpuMs.launcher).toFixed(1)} ms (worker ${n.cpuMs.worker.toFixed(1)}, launcher ${n.cpuMs.launcher.toFixed(1)}) | | | ≤ 5 ms |`,
    `| ActiveMQ (STOMP) | SNS mode: ${n.burst.runs}-run burst to one worker (default slots), throughput | ${n.burst.runsPerSecond.toFixed(1)} runs/s | | | SNS agent: 2.64 runs/s |`,
    `| ActiveMQ (STOMP) | SNS mode: burst sent → REDUCTION.COMPLETE received | ${ms(n.burst.medianMs)} | ${ms(n.burst.p95Ms)} | | SNS agent: p95 72 s |`,
  );
}
if (part("listener")) {
  say("listener detection delay");
  const detection = await listenerBench(50);
  out.push(
    `| SQLite (default) | listener: completion marker written → DATA_READY sent (50 runs) | ${ms(detection.median)} | ${ms(detection.p95)} | | (reported) |`,
  );
}
if (part("changefeed")) {
  const feedRuns = Math.min(runs, 100);
  const feeds: Array<[Backend, string, Record<string, string> | undefined]> = [
    [{ name: "SQLite (default)" }, "< 100 ms p95", undefined],
    [
      { name: "ActiveMQ + SQLite", transport: { kind: "stomp", stomp: { brokers: [activemq()] } } },
      "< 150 ms p95",
      isolatedQueues(`BENCH${process.pid}`),
    ],
    [
      {
        name: "ActiveMQ + PostgreSQL",
        database: createTestDatabase,
        transport: { kind: "stomp", stomp: { brokers: [activemq()] } },
      },
      "< 150 ms p95",
      isolatedQueues(`BENCH${process.pid}PG`),
    ],
  ];
  for (const [backend, target, queues] of feeds) {
    say(`${backend.name}: change feed, ${feedRuns} runs one at a time, subscriber in its own process`);
    const f = await changeFeedLatency(feedRuns, backend, queues);
    out.push(
      `| ${backend.name} | change feed: after commit → subscriber process (${f.delay.n} job events: ${Object.entries(
        f.statuses,
      )
        .map(([k, v]) => `${v} ${k}`)
        .join(", ")}; ${f.missed} missed) | ${ms(f.delay.median)} | ${ms(f.delay.p95)} | | ${target} |`,
      `| ${backend.name} | change feed: job \`updated_at\` (in the transaction) → subscriber process | ${ms(f.sinceUpdated.median)} | ${ms(f.sinceUpdated.p95)} | | (reported) |`,
      `| ${backend.name} | change feed: \`publish\` call in the handler / one send (off the handler's path) | ${f.publishCallMicros.toFixed(0)} µs | ${ms(f.sendMs)} | | (reported) |`,
    );
  }
}
if (part("web")) {
  // The web application on a facility's worth of runs (bench/web-bench.ts); the seeded databases are cached.
  for (const backend of ["SQLite", "PostgreSQL"] as const) {
    say(`${backend}: web application, ${values["web-runs"]} runs`);
    const f = await webBench(backend, Number(values["web-runs"]));
    say(`${backend}: load average ${f.load.before.toFixed(1)} before, ${f.load.after.toFixed(1)} after`);
    out.push(...webRows(f));
  }
}
process.stdout.write(`${out.join("\n")}\n`);
if (cpuRows.length > 2) {
  process.stdout.write(`\nCPU milliseconds per run, by process (all parts share the machine's cores):\n\n`);
  process.stdout.write(`${cpuRows.join("\n")}\n`);
}
process.exit(0);
