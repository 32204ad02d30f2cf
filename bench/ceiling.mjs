// The throughput ceiling: the same script spawned in a plain loop at the same concurrency,
// from a small process that does nothing else. Prints runs per second.
// usage: node bench/ceiling.mjs <runs> <concurrency> <interpreter> <script> <out-dir>
import { spawn } from "node:child_process";

const [runs, concurrency, interpreter, script, outDir] = process.argv.slice(2);
const total = Number(runs);
let next = 0;
const start = performance.now();
async function lane() {
  while (next < total) {
    const i = next++;
    await new Promise((resolve, reject) => {
      // In its own session (detached), as the launcher starts every script: where the scheduler
      // groups CPU time by session (autogroup), the scripts of both sides then get the same share
      // of a machine that others load too.
      const child = spawn(interpreter, [script, `/x/BENCH_${i}.nxs.h5`, outDir], {
        stdio: "ignore",
        detached: true,
      });
      child.on("exit", resolve);
      child.on("error", reject);
    });
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, lane));
process.stdout.write(`${total / ((performance.now() - start) / 1000)}\n`);
