import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../src/logging/logger.ts";
import type { ReductionJob } from "../../src/messages/reduction-job.ts";
import { locateScript } from "../../src/scripts/script-location.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { ReductionWorker } from "../../src/worker/reduction-worker.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

// Writes 256 KiB of output: more than a full disk has room for.
const WRITER = `import sys, os
data, out = sys.argv[1], sys.argv[2]
print("reducing", data)
with open(os.path.join(out, "big.dat"), "wb") as f:
    f.write(b"x" * 256 * 1024)
print("done")
`;

/** Fills the filesystem mounted at `dir` with one file, until it has no space left. */
function fill(dir: string): string {
  const filler = join(dir, "filler");
  try {
    execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k"], { stdio: "ignore" });
  } catch {
    // dd stops with an error when the disk is full: that is the point
  }
  return filler;
}

describe("worker: a full disk is an infrastructure fault, retried", () => {
  let stack: Stack;
  let worker: ReductionWorker;
  let outputDir = "";
  const reports: Record<string, IncomingMessage[]> = {};
  const job: ReductionJob = {
    facility: "SNS",
    instrument: "FULL",
    ipts: "IPTS-9",
    run_number: 1,
    data_file: "",
    job_id: "full-1",
  } as ReductionJob;

  before(async () => {
    stack = await openStack({
      instruments: { FULL: {} },
      worker: { retry: { attempts: 3, initial_seconds: 0.2, max_seconds: 0.5 } },
    });
    mkdirSync(join(stack.config.scripts.root, "FULL"), { recursive: true });
    writeFileSync(join(stack.config.scripts.root, "FULL", "reduce_FULL.py"), WRITER);
    job.data_file = join(stack.dir, "archive", "FULL", "FULL_1.nxs.h5");
    mkdirSync(join(job.data_file, ".."), { recursive: true });
    writeFileSync(job.data_file, "raw");
    outputDir = locateScript(stack.config, job).outputDir;
    mkdirSync(outputDir, { recursive: true });
    // A tiny filesystem of its own for the run's output folder (we are root in the test machine).
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", outputDir]);
    const q = stack.config.queues;
    for (const d of [q.reduction_complete, q.reduction_error, q.reduction_retrying]) {
      reports[d] = await stack.collect(d);
    }
    worker = await ReductionWorker.start({
      config: stack.config,
      transport: stack.transport,
      log: silentLogger(),
      host: "test-node",
    });
  });
  after(async () => {
    await worker?.stop();
    try {
      execFileSync("umount", [outputDir]);
    } catch {
      // not mounted
    }
    await stack?.close();
  });

  test("a script that fails on a full disk is RETRYING, not ERROR, and completes once there is room", {
    timeout: 60_000,
  }, async () => {
    const filler = fill(outputDir);
    const q = stack.config.queues;
    const bodies = (d: string) => (reports[d] ?? []).map((m) => JSON.parse(m.body));
    await stack.transport.send(q.reduction_data_ready, { body: JSON.stringify(job) });
    const retrying = await waitFor(() => bodies(q.reduction_retrying)[0], "a RETRYING report", 30_000);
    assert.match(retrying.error, /no space left|disk is full/i);
    assert.deepEqual(bodies(q.reduction_error), [], "not reported as the script's error");
    // Nothing half-written is left behind by the failed attempt (a ledger or workspace file).
    const files = readdirSync(outputDir, { recursive: true }).map(String);
    assert.deepEqual(
      files.filter((f) => f.endsWith(".tmp")),
      [],
    );
    rmSync(filler);
    const done = await waitFor(() => bodies(q.reduction_complete)[0], "the retry to complete", 30_000);
    assert.equal(done.job_id, "full-1");
    assert.deepEqual(bodies(q.reduction_error), []);
    assert.ok(existsSync(join(outputDir, "big.dat")));
  });
});
