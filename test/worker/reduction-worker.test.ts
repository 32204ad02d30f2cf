import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../src/logging/logger.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { ReductionWorker } from "../../src/worker/reduction-worker.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

const OK_SCRIPT = `import sys, os
print("argv", sys.argv[1:])
data, out = sys.argv[1], sys.argv[2]
with open(out + os.path.basename(data) + ".reduced", "w") as f:
    f.write("reduced")
`;
const RAISING_SCRIPT = `import sys
print("starting")
print("noise on stderr", file=sys.stderr)
raise RuntimeError("This is an ERROR!")
`;
const EXIT_SCRIPT = `import sys
print("line one", file=sys.stderr)
print("line two", file=sys.stderr)
sys.exit(3)
`;

describe("reduction worker (real python3)", () => {
  let stack: Stack;
  let worker: ReductionWorker;
  const reports: Record<string, IncomingMessage[]> = {};
  let n = 0;

  before(async () => {
    stack = await openStack({
      instruments: { OK: {}, RAISE: {}, EXIT: {}, NOSCRIPT: {}, NOPY: { interpreter: "no-such-python" } },
      worker: { retry: { attempts: 1 } },
    });
    for (const [inst, text] of [
      ["OK", OK_SCRIPT],
      ["RAISE", RAISING_SCRIPT],
      ["EXIT", EXIT_SCRIPT],
      ["NOPY", OK_SCRIPT],
    ] as const) {
      mkdirSync(join(stack.config.scripts.root, inst), { recursive: true });
      writeFileSync(join(stack.config.scripts.root, inst, `reduce_${inst}.py`), text);
    }
    const q = stack.config.queues;
    for (const d of [
      q.reduction_started,
      q.reduction_complete,
      q.reduction_error,
      q.reduction_disabled,
      q.postprocess_error,
    ]) {
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
    await worker.stop();
    await stack.close();
  });

  async function runJob(instrument: string, withFile = true) {
    const run = ++n;
    const dataFile = join(stack.dir, "archive", instrument, `${instrument}_${run}.nxs.h5`);
    if (withFile) {
      mkdirSync(join(dataFile, ".."), { recursive: true });
      writeFileSync(dataFile, "raw");
    }
    const job = {
      facility: "SNS",
      instrument,
      ipts: "IPTS-7",
      run_number: run,
      data_file: dataFile,
      job_id: `job-${run}`,
    };
    await stack.transport.send(stack.config.queues.reduction_data_ready, { body: JSON.stringify(job) });
    const q = stack.config.queues;
    const final = [q.reduction_complete, q.reduction_error, q.reduction_disabled];
    const found = await waitFor(
      () =>
        final
          .flatMap((d) => (reports[d] ?? []).map((m) => ({ d, body: JSON.parse(m.body) })))
          .find((r) => r.body.job_id === job.job_id),
      `final report of ${job.job_id}`,
    );
    const started = (reports[q.reduction_started] ?? [])
      .map((m) => JSON.parse(m.body))
      .find((b) => b.job_id === job.job_id);
    return { destination: found.d, report: found.body, started, dataFile };
  }

  test("a job delivered again while it runs, or after it ran, is not run a second time", async () => {
    const run = ++n;
    const dataFile = join(stack.dir, "archive", "OK", `OK_${run}.nxs.h5`);
    mkdirSync(join(dataFile, ".."), { recursive: true });
    writeFileSync(dataFile, "raw");
    const body = JSON.stringify({
      facility: "SNS",
      instrument: "OK",
      ipts: "IPTS-7",
      run_number: run,
      data_file: dataFile,
      job_id: `job-${run}`,
    });
    // As a broker does after a lost connection: the same job twice at once, then once more later.
    const q = stack.config.queues;
    await stack.transport.send(q.reduction_data_ready, { body });
    await stack.transport.send(q.reduction_data_ready, { body });
    const completes = () =>
      (reports[q.reduction_complete] ?? []).filter((m) => JSON.parse(m.body).job_id === `job-${run}`);
    await waitFor(() => completes().length === 1, "the job completed");
    await stack.transport.send(q.reduction_data_ready, { body });
    await waitFor(async () => (await stack.transport.depth(q.reduction_data_ready)) === 0, "the copy taken");
    const starts = (reports[q.reduction_started] ?? []).filter(
      (m) => JSON.parse(m.body).job_id === `job-${run}`,
    );
    assert.equal(starts.length, 1, "started once");
    assert.equal(completes().length, 1, "completed once");
  });

  test("a successful script is reported STARTED then COMPLETE with its outputs and logs", async () => {
    const { destination, report, started, dataFile } = await runJob("OK");
    assert.equal(destination, "/queue/REDUCTION.COMPLETE");
    assert.equal(started?.information, "test-node");
    assert.equal(report.information, "test-node", "SNS puts the host in information");
    assert.equal(report.exit_code, 0);
    assert.ok(report.output_files.some((f: string) => f.endsWith(".nxs.h5.reduced")));
    const log = readFileSync(report.log_file, "utf8");
    assert.match(
      log,
      new RegExp(`argv \\['${dataFile}', '.*/shared/autoreduce/'\\]`),
      "output dir has SNS's trailing slash",
    );
    assert.ok(report.log_file.endsWith(`reduction_log/OK_${report.run_number}.nxs.h5.log`));
  });

  test("a Python exception is an ERROR naming the exception, with the last stderr lines", async () => {
    const { destination, report } = await runJob("RAISE");
    assert.equal(destination, "/queue/REDUCTION.ERROR");
    assert.equal(report.error, "REDUCTION: RuntimeError: This is an ERROR! (exit code 1)");
    assert.match(report.log_tail, /noise on stderr[\s\S]*Traceback[\s\S]*RuntimeError: This is an ERROR!/);
    assert.match(readFileSync(report.err_file, "utf8"), /RuntimeError/);
  });

  test("a non-zero exit is an ERROR with the exit code", async () => {
    const { destination, report } = await runJob("EXIT");
    assert.equal(destination, "/queue/REDUCTION.ERROR");
    assert.equal(report.error, "REDUCTION: line two (exit code 3)");
    assert.equal(report.exit_code, 3);
  });

  test("an instrument without a script is DISABLED and nothing runs", async () => {
    const { destination, report } = await runJob("NOSCRIPT");
    assert.equal(destination, "/queue/REDUCTION.DISABLED");
    assert.match(report.error, /no reduction script at .*NOSCRIPT\/reduce_NOSCRIPT\.py/);
    assert.ok(!existsSync(join(stack.config.output.root, "NOSCRIPT")));
  });

  test("a missing data file or interpreter is an ERROR before the script runs (with one attempt allowed)", async () => {
    const missing = await runJob("OK", false);
    assert.equal(missing.destination, "/queue/REDUCTION.ERROR");
    assert.match(missing.report.error, /^REDUCTION: gave up after 1 attempt: Data file not found: /);
    assert.equal(missing.started, undefined, "nothing was started");
    const nopy = await runJob("NOPY");
    assert.match(nopy.report.error, /interpreter not found: no-such-python/);
  });

  test("a job that is not valid goes to POSTPROCESS.ERROR and the worker carries on", async () => {
    const errors = reports[stack.config.queues.postprocess_error] ?? [];
    await stack.transport.send(stack.config.queues.reduction_data_ready, { body: '{"instrument": "OK"}' });
    await waitFor(() => errors.length === 1, "error message");
    assert.match(JSON.parse(errors[0]?.body ?? "{}").error, /facility: missing/);
    const { destination } = await runJob("OK");
    assert.equal(destination, "/queue/REDUCTION.COMPLETE");
  });
});
