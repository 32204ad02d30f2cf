import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import type { ConfigInput } from "../../src/config/config-schema.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { ReductionWorker } from "../../src/worker/reduction-worker.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

// Shell scripts start in a few milliseconds; they log when they ran, in milliseconds.
const TIMED = `#!/bin/sh
start=$(date +%s%3N)
sleep "\${SLEEP:-0.1}"
echo "$AUTOREDUCE_RUN_NUMBER $AUTOREDUCE_EXPERIMENT $start $(date +%s%3N)" >> "$TIMES"
`;

interface Harness {
  stack: Stack;
  worker: ReductionWorker;
  started: IncomingMessage[];
  finals: IncomingMessage[];
  times: string;
  send(instrument: string, run: number, experiment?: string): Promise<void>;
}

let open: Harness | null = null;
afterEach(async () => {
  await open?.worker.stop(0);
  await open?.stack.close();
  open = null;
});

async function harness(config: ConfigInput, instruments: string[]): Promise<Harness> {
  const stack = await openStack({
    scripts: { file: "reduce_{instrument}.sh", interpreter: "sh" },
    ...config,
    // Scripts see only the variables a worker passes on (see script-environment.ts).
    worker: { ...config.worker, env_passthrough: ["TIMES", "SLEEP"] },
    instruments: Object.fromEntries(instruments.map((i) => [i, {}])),
  });
  for (const inst of instruments) {
    mkdirSync(join(stack.config.scripts.root, inst), { recursive: true });
    writeFileSync(join(stack.config.scripts.root, inst, `reduce_${inst}.sh`), TIMED);
  }
  const times = join(stack.dir, "times.txt");
  writeFileSync(times, "");
  process.env.TIMES = times;
  const q = stack.config.queues;
  const started = await stack.collect(q.reduction_started);
  const finals = [
    ...(await Promise.all([q.reduction_complete, q.reduction_error].map((d) => stack.collect(d)))),
  ];
  const h: Harness = {
    stack,
    worker: await ReductionWorker.start({
      config: stack.config,
      transport: stack.transport,
      log: silentLogger(),
    }),
    started,
    finals: [],
    times,
    async send(instrument, run, experiment = "IPTS-1") {
      const dataFile = join(stack.dir, "archive", `${instrument}_${run}.nxs.h5`);
      writeFileSync(dataFile, "raw");
      const job = {
        facility: "SNS",
        instrument,
        ipts: experiment,
        run_number: run,
        data_file: dataFile,
        job_id: `${instrument}-${run}`,
      };
      await stack.transport.send(q.reduction_data_ready, { body: JSON.stringify(job) });
    },
  };
  Object.defineProperty(h, "finals", { get: () => finals.flat() });
  open = h;
  return h;
}

const jobIds = (messages: IncomingMessage[]) => messages.map((m) => JSON.parse(m.body).job_id as string);

test("runs of one instrument over its limit wait in the worker and start in run order; another instrument is not held up", async () => {
  const h = await harness({ worker: { max_procs: 4, jobs_per_instrument: 2, hold: 24 } }, ["AAA", "BBB"]);
  const order: Array<[string, number]> = [];
  for (let run = 1; run <= 20; run++) {
    order.push(["AAA", run]);
    if (run % 5 === 0) order.push(["BBB", run / 5]);
  }
  for (const [inst, run] of order) await h.send(inst, run);
  await waitFor(() => h.finals.length === 24, "24 final reports", 30_000);
  const starts = jobIds(h.started);
  const a = starts.filter((id) => id.startsWith("AAA")).map((id) => Number(id.split("-")[1]));
  assert.deepEqual(
    a,
    [...a].sort((x, y) => x - y),
    `AAA started in run order: ${a.join(",")}`,
  );
  assert.equal(a.length, 20);
  const lastA = starts.indexOf("AAA-20");
  for (const b of ["BBB-1", "BBB-2", "BBB-3", "BBB-4"])
    assert.ok(starts.indexOf(b) < lastA, `${b} started before the AAA backlog drained: ${starts.join(",")}`);
  // Never more than two AAA at once: check the recorded intervals.
  const intervals = readFileSync(h.times, "utf8")
    .trim()
    .split("\n")
    .map((line) => line.split(" "))
    .filter(([run]) => Number(run) > 0)
    .map(([, , s, e]) => [Number(s), Number(e)] as const);
  const max = Math.max(...intervals.map(([s]) => intervals.filter(([s2, e2]) => s2 <= s && s < e2).length));
  assert.ok(max <= 4, `at most max_procs at once (saw ${max})`);
  assert.equal(h.finals.filter((m) => m.destination.endsWith("COMPLETE")).length, 24);
});

test("two reductions of one experiment never overlap; reductions of different experiments do", async () => {
  process.env.SLEEP = "0.4";
  try {
    const h = await harness({ worker: { max_procs: 4, jobs_per_instrument: 0, one_per_experiment: true } }, [
      "EXP",
    ]);
    await h.send("EXP", 1, "IPTS-X");
    await h.send("EXP", 2, "IPTS-X");
    await h.send("EXP", 3, "IPTS-X");
    await h.send("EXP", 4, "IPTS-Y");
    await waitFor(() => h.finals.length === 4, "4 final reports", 20_000);
    const rows = readFileSync(h.times, "utf8")
      .trim()
      .split("\n")
      .map((line) => line.split(" "))
      .map(([run, exp, s, e]) => ({ run: Number(run), exp, start: Number(s), end: Number(e) }));
    const overlap = (p: (typeof rows)[0], q: (typeof rows)[0]) => p.start < q.end && q.start < p.end;
    const x = rows.filter((r) => r.exp === "IPTS-X").sort((p, q) => p.start - q.start);
    assert.equal(x.length, 3);
    for (let i = 1; i < x.length; i++) {
      const [p, q] = [x[i - 1], x[i]];
      assert.ok(p && q && !overlap(p, q), `IPTS-X runs ${p?.run} and ${q?.run} overlapped`);
    }
    assert.deepEqual(
      x.map((r) => r.run),
      [1, 2, 3],
      "in run order",
    );
    const y = rows.find((r) => r.exp === "IPTS-Y");
    assert.ok(y && x.some((r) => overlap(r, y)), "the other experiment ran alongside");
  } finally {
    delete process.env.SLEEP;
  }
});
