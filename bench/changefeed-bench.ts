import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { stringify } from "yaml";
import { Coordinator } from "../src/coordinator/coordinator.ts";
import { silentLogger } from "../src/logging/logger.ts";
import type { Transport } from "../src/transport/transport.ts";
import { ReductionWorker } from "../src/worker/reduction-worker.ts";
import { openStack } from "../test/helpers/in-process.ts";
import type { Backend } from "./pipeline-bench.ts";
import { summarize } from "./stats.ts";

interface Arrival {
  run: number;
  status: string;
  seq: number;
  delay: number;
  since_updated: number;
}

export interface ChangeFeedFigure {
  /** Publisher's `published_at` (just after the commit) → the subscriber process has the event, ms. */
  delay: ReturnType<typeof summarize>;
  /** The job's committed `updated_at` (taken in the transaction) → the subscriber, ms. */
  sinceUpdated: ReturnType<typeof summarize>;
  /** Events by status (a `running` is not sent when the COMPLETE report was committed first). */
  statuses: Record<string, number>;
  /** Events published but not received (jumps in `seq`). */
  missed: number;
  /** Time `publish` holds the handler that made the change (it does not wait for the send), µs. */
  publishCallMicros: number;
  /** Time one change event's `transport.send` takes, off the handler's path, ms (median). */
  sendMs: number;
}

/**
 * The change feed's delay to another process: coordinator and worker in this process (as in
 * `serve`), a subscriber in its own (bench/change-subscriber.ts). Runs one at a time through a
 * no-op bash script; every job event (queued, running, completed) is a sample.
 */
export async function changeFeedLatency(
  runs: number,
  backend: Backend,
  queues?: Record<string, string>,
): Promise<ChangeFeedFigure> {
  const fresh = backend.database ? await backend.database() : null;
  const stack = await openStack(
    {
      ...(backend.transport ? { transport: backend.transport } : {}),
      ...(queues ? { queues } : {}),
      instruments: { BENCH: { interpreter: "bash" } },
      scripts: { file: "reduce_{instrument}.sh" },
      worker: { max_procs: 1 },
    },
    fresh?.url,
  );
  mkdirSync(join(stack.config.scripts.root, "BENCH"), { recursive: true });
  writeFileSync(join(stack.config.scripts.root, "BENCH", "reduce_BENCH.sh"), "true\n");
  const configFile = join(stack.dir, "autoreduce.yaml");
  writeFileSync(configFile, stringify({ ...stack.raw, data_dir: stack.dir }));

  const sends: number[] = [];
  const timed = timedChangeSends(stack.transport, stack.config.queues.changes, sends);
  const log = silentLogger();
  const publishCalls: number[] = [];
  const coordinator = await Coordinator.start({ ...stack, transport: timed, log });
  const publish = coordinator.changed.bind(coordinator);
  coordinator.changed = (change) => {
    const t = process.hrtime.bigint();
    publish(change);
    publishCalls.push(Number(process.hrtime.bigint() - t) / 1000);
  };
  const worker = await ReductionWorker.start({ config: stack.config, transport: stack.transport, log });
  let subscriber: ChildProcessWithoutNullStreams | undefined;
  try {
    subscriber = await startSubscriber(configFile);
    const arrivals: Arrival[] = [];
    createInterface({ input: subscriber.stdout }).on("line", (line) =>
      arrivals.push(JSON.parse(line) as Arrival),
    );
    for (let run = 1; run <= runs; run++) {
      const path = join(
        stack.config.archive.roots[0] ?? "",
        "BENCH",
        "IPTS-1",
        "nexus",
        `BENCH_${run}.nxs.h5`,
      );
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, "raw");
      const body = { facility: "SNS", instrument: "BENCH", ipts: "IPTS-1", run_number: run, data_file: path };
      await stack.transport.send(stack.config.queues.data_ready, { body: JSON.stringify(body) });
      await until(() => arrivals.some((a) => a.run === run && a.status === "completed"), `run ${run}`);
    }
    const seqs = arrivals.map((a) => a.seq).sort((a, b) => a - b);
    const statuses: Record<string, number> = {};
    for (const a of arrivals) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    return {
      statuses,
      missed: (seqs.at(-1) ?? 0) - seqs.length,
      delay: summarize(arrivals.map((a) => a.delay)),
      sinceUpdated: summarize(arrivals.map((a) => a.since_updated)),
      publishCallMicros: summarize(publishCalls).median,
      sendMs: summarize(sends).median,
    };
  } finally {
    if (subscriber) {
      const child = subscriber;
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    await worker.stop();
    await coordinator.stop();
    await stack.close();
    await fresh?.drop();
  }
}

/** The transport, timing each send to the change topic. */
function timedChangeSends(transport: Transport, changes: string, out: number[]): Transport {
  return {
    send: async (destination, message) => {
      if (destination !== changes) return transport.send(destination, message);
      const t = performance.now();
      const id = await transport.send(destination, message);
      out.push(performance.now() - t);
      return id;
    },
    subscribe: (...args) => transport.subscribe(...args),
    browse: (...args) => transport.browse(...args),
    take: (...args) => transport.take(...args),
    depth: (destination) => transport.depth(destination),
    close: () => transport.close(),
  };
}

async function startSubscriber(configFile: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "change-subscriber.ts"), configFile],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  await until(() => {
    if (child.exitCode !== null) throw new Error(`the subscriber exited: ${err}`);
    return err.includes("subscribed");
  }, "the subscriber to start");
  return child;
}

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
