import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ArchiveListener } from "../src/listener/archive-listener.ts";
import { silentLogger } from "../src/logging/logger.ts";
import { openStack } from "../test/helpers/in-process.ts";
import { summarize } from "./stats.ts";

/** Completion marker written → DATA_READY on the queue, for `samples` runs one after another. */
export async function listenerBench(samples: number) {
  const stack = await openStack({
    instruments: { BENCH: {} },
    archive: { completion_marker: ".done", reconcile_seconds: 3600 },
  });
  const arrivals = new Map<number, number>();
  const sub = await stack.transport.subscribe(stack.config.queues.data_ready, async (m) => {
    arrivals.set(JSON.parse(m.body).run_number, Date.now());
  });
  const listener = await ArchiveListener.start({ ...stack, log: silentLogger() });
  const delays: number[] = [];
  try {
    const dir = join(stack.config.archive.roots[0] ?? "", "BENCH", "IPTS-1", "nexus");
    mkdirSync(dir, { recursive: true });
    for (let run = 1; run <= samples; run++) {
      const file = join(dir, `BENCH_${run}.nxs.h5`);
      writeFileSync(file, "raw data");
      const t = Date.now();
      writeFileSync(`${file}.done`, "");
      const deadline = t + 10_000;
      while (!arrivals.has(run) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      const at = arrivals.get(run);
      if (at !== undefined) delays.push(at - t);
    }
  } finally {
    await listener.stop();
    await sub.unsubscribe();
    await stack.close();
  }
  return summarize(delays);
}
