import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../src/logging/logger.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { ReductionWorker } from "../../src/worker/reduction-worker.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

// About 5 MB on stdout, then a last line.
const LOUD = `import sys
for i in range(500000):
    print("progress %d of 500000" % i)
print("all done")
`;

describe("worker: log limit", () => {
  let stack: Stack;
  let worker: ReductionWorker;
  let completes: IncomingMessage[] = [];

  before(async () => {
    stack = await openStack({
      instruments: { LOUD: { log_limit: "64KiB" } },
      worker: { log_limit: "1GiB" },
    });
    mkdirSync(join(stack.config.scripts.root, "LOUD"), { recursive: true });
    writeFileSync(join(stack.config.scripts.root, "LOUD", "reduce_LOUD.py"), LOUD);
    completes = await stack.collect(stack.config.queues.reduction_complete);
    worker = await ReductionWorker.start({
      config: stack.config,
      transport: stack.transport,
      log: silentLogger(),
      host: "test-node",
    });
  });
  after(async () => {
    await worker?.stop();
    await stack?.close();
  });

  test("a script that prints far past the instrument's log limit completes, its log cut to the limit and its information saying so", {
    timeout: 60_000,
  }, async () => {
    const dataFile = join(stack.dir, "archive", "LOUD", "LOUD_1.nxs.h5");
    mkdirSync(join(dataFile, ".."), { recursive: true });
    writeFileSync(dataFile, "raw");
    const job = {
      facility: "SNS",
      instrument: "LOUD",
      ipts: "IPTS-3",
      run_number: 1,
      data_file: dataFile,
      job_id: "loud-1",
    };
    await stack.transport.send(stack.config.queues.reduction_data_ready, { body: JSON.stringify(job) });
    const done = await waitFor(() => completes[0], "the job to complete", 45_000);
    const report = JSON.parse(done.body);
    assert.match(
      report.information,
      /log truncated to worker\.log_limit: [\d.]+ MiB of stdout cut from the middle/,
    );
    assert.ok(statSync(report.log_file).size < 64 * 1024 + 200);
    const log = readFileSync(report.log_file, "utf8");
    assert.match(log, /^progress 0 of 500000\n/);
    assert.match(
      log,
      /\n\[autoreduce: \d+ bytes cut here: the log is limited to 65536 bytes, head and tail kept\]\n/,
    );
    assert.match(log, /progress 499999 of 500000\nall done\n$/);
    assert.match(report.log_tail, /all done$/);
  });
});
