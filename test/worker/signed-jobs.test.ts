import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readJobKey } from "../../src/config/job-key.ts";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { signJob } from "../../src/messages/job-signature.ts";
import { listRuns } from "../../src/store/run-views.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { ReductionWorker } from "../../src/worker/reduction-worker.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

/** The file on disk: it writes `file`; the stored text (what a re-run may run) writes `stored`. */
const FILE_SCRIPT = `import sys
open(sys.argv[2] + "file", "w").write("x")
`;
const STORED_SCRIPT = `import sys, reduce_vars
open(sys.argv[2] + "stored", "w").write(str(reduce_vars.standard_vars["answer"]))
`;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("stored script text runs only from a job the coordinator signed", () => {
  let stack: Stack;
  let worker: ReductionWorker;
  let key: Buffer;
  const reports: Record<string, IncomingMessage[]> = {};
  let n = 0;

  before(async () => {
    stack = await openStack({ instruments: { SIG: {} }, worker: { retry: { attempts: 1 } } });
    mkdirSync(join(stack.config.scripts.root, "SIG"), { recursive: true });
    writeFileSync(join(stack.config.scripts.root, "SIG", "reduce_SIG.py"), FILE_SCRIPT);
    const q = stack.config.queues;
    for (const d of [q.reduction_complete, q.reduction_error, q.postprocess_error])
      reports[d] = await stack.collect(d);
    worker = await ReductionWorker.start({
      config: stack.config,
      transport: stack.transport,
      log: silentLogger(),
      host: "test-node",
    });
    // The worker made the key (it was missing); the coordinator of this data_dir reads the same file.
    key = readJobKey(stack.config).key;
  });
  after(async () => {
    await worker.stop();
    await stack.close();
  });

  function job(): Record<string, unknown> {
    const run = ++n;
    const dataFile = join(stack.config.archive.roots[0] ?? "", "SIG", `SIG_${run}.nxs.h5`);
    mkdirSync(join(dataFile, ".."), { recursive: true });
    writeFileSync(dataFile, "raw");
    return {
      facility: "SNS",
      instrument: "SIG",
      ipts: "IPTS-9",
      run_number: run,
      data_file: dataFile,
      job_id: `sig-${run}`,
      output_dir: join(stack.config.output.root, "SIG", `run-${run}`),
      script: {
        path: join(stack.config.scripts.root, "SIG", "reduce_SIG.py"),
        text: STORED_SCRIPT,
        hash: sha256(STORED_SCRIPT),
      },
      variables: { standard_vars: { answer: 42 }, advanced_vars: {} },
    };
  }

  async function send(body: Record<string, unknown>) {
    const q = stack.config.queues;
    await stack.transport.send(q.reduction_data_ready, { body: JSON.stringify(body) });
    return waitFor(
      () =>
        [q.reduction_complete, q.reduction_error]
          .flatMap((d) => (reports[d] ?? []).map((m) => ({ destination: d, report: JSON.parse(m.body) })))
          .find((r) => r.report.job_id === body.job_id),
      `final report of ${String(body.job_id)}`,
      30_000,
    );
  }

  test("a signed job runs its stored text with its variables", async () => {
    const sent = job();
    const final = await send(signJob(sent, key));
    assert.equal(final.destination, stack.config.queues.reduction_complete, String(final.report.error));
    const out = String(sent.output_dir);
    assert.equal(readFileSync(join(out, "stored"), "utf8"), "42");
    assert.ok(!existsSync(join(out, "file")), "not the file on disk");
  });

  test("a signed job altered on the way is refused and runs nothing", async () => {
    const sent = job();
    const altered = { ...signJob(sent, key), variables: { standard_vars: { answer: 7 }, advanced_vars: {} } };
    const final = await send(altered);
    assert.equal(final.destination, stack.config.queues.reduction_error);
    assert.match(String(final.report.error), /job_signature does not verify/);
    assert.ok(!existsSync(String(sent.output_dir)), "nothing ran");
    const errors = reports[stack.config.queues.postprocess_error] ?? [];
    assert.ok(errors.some((m) => JSON.parse(m.body).job_id === sent.job_id));
  });

  test("a job signed with another key is refused", async () => {
    const sent = job();
    const final = await send(signJob(sent, Buffer.from("x".repeat(64))));
    assert.equal(final.destination, stack.config.queues.reduction_error);
    assert.match(String(final.report.error), /job_signature does not verify/);
  });
});

describe("a worker whose job key is not the coordinator's", () => {
  let stack: Stack;
  let worker: ReductionWorker;
  let coordinator: Coordinator;

  before(async () => {
    stack = await openStack({ instruments: { KEYED: {} } });
    mkdirSync(join(stack.config.scripts.root, "KEYED"), { recursive: true });
    writeFileSync(join(stack.config.scripts.root, "KEYED", "reduce_KEYED.py"), FILE_SCRIPT);
    coordinator = await Coordinator.start({ ...stack, log: silentLogger() });
    // Another machine that made a key of its own instead of getting the coordinator's file.
    const own = { ...stack.config, security: { job_key_file: join(stack.dir, "other.key") } };
    worker = await ReductionWorker.start({
      config: own,
      transport: stack.transport,
      log: silentLogger(),
      host: "other-node",
    });
  });
  after(async () => {
    await worker.stop(0);
    await coordinator.stop();
    await stack.close();
  });

  test("refuses the coordinator's jobs: the run ends in error with the reason, it does not stay queued", async () => {
    const dataFile = join(stack.config.archive.roots[0] ?? "", "KEYED", "IPTS-1", "KEYED_1.nxs.h5");
    mkdirSync(join(dataFile, ".."), { recursive: true });
    writeFileSync(dataFile, "raw");
    await stack.transport.send(stack.config.queues.data_ready, {
      body: JSON.stringify({
        facility: "SNS",
        instrument: "KEYED",
        ipts: "IPTS-1",
        run_number: 1,
        data_file: dataFile,
      }),
    });
    const view = await waitFor(
      async () => {
        const [run] = await listRuns(stack.database, { instrument: "KEYED", runNumber: 1 });
        return run?.status === "error" ? run : null;
      },
      "the run in error",
      30_000,
    );
    assert.match(view.message ?? "", /job refused by other-node: job_signature does not verify/);
    assert.ok(!existsSync(join(String(view.output_dir), "file")), "nothing ran");
  });
});
