import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../src/logging/logger.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { ReductionWorker } from "../../src/worker/reduction-worker.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The attacks a publisher on a shared broker could make on a worker that trusts the message, each
 * reproduced: the worker must refuse the job (POSTPROCESS.ERROR with the reason, REDUCTION.ERROR
 * for the run), run nothing, and carry on.
 */

const OK_SCRIPT = `import sys, os
data, out = sys.argv[1], sys.argv[2]
with open(data, "rb") as f:
    content = f.read()
with open(out + os.path.basename(data) + ".reduced", "wb") as f:
    f.write(content)
`;

const ENV_SCRIPT = `import sys, os, json
out = sys.argv[2]
tmp = os.environ.get("TMPDIR", "")
with open(out + "env.json", "w") as f:
    json.dump({"env": dict(os.environ), "tmp_is_dir": os.path.isdir(tmp)}, f)
`;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

interface Final {
  destination: string;
  report: Record<string, unknown>;
}

async function startWorker(stack: Stack, scripts: Record<string, string>) {
  for (const [inst, text] of Object.entries(scripts)) {
    mkdirSync(join(stack.config.scripts.root, inst), { recursive: true });
    writeFileSync(join(stack.config.scripts.root, inst, `reduce_${inst}.py`), text);
  }
  const q = stack.config.queues;
  const reports: Record<string, IncomingMessage[]> = {};
  for (const d of [q.reduction_complete, q.reduction_error, q.reduction_disabled, q.postprocess_error]) {
    reports[d] = await stack.collect(d);
  }
  const worker = await ReductionWorker.start({
    config: stack.config,
    transport: stack.transport,
    log: silentLogger(),
    host: "test-node",
  });
  /** Sends a job and returns its final report (COMPLETE, ERROR or DISABLED). */
  async function send(job: Record<string, unknown>): Promise<Final> {
    await stack.transport.send(q.reduction_data_ready, { body: JSON.stringify(job) });
    return waitFor(
      () =>
        [q.reduction_complete, q.reduction_error, q.reduction_disabled]
          .flatMap((d) => (reports[d] ?? []).map((m) => ({ destination: d, report: JSON.parse(m.body) })))
          .find((r) => r.report.job_id === job.job_id),
      `final report of ${String(job.job_id)}`,
      30_000,
    );
  }
  /** The POSTPROCESS.ERROR message about a job. */
  const errorFor = (jobId: string) =>
    waitFor(
      () =>
        (reports[q.postprocess_error] ?? [])
          .map((m) => JSON.parse(m.body) as Record<string, unknown>)
          .find((b) => b.job_id === jobId),
      `POSTPROCESS.ERROR for ${jobId}`,
    );
  return { worker, send, errorFor };
}

describe("a worker refuses jobs its configuration does not allow", () => {
  let stack: Stack;
  let worker: ReductionWorker;
  let send: (job: Record<string, unknown>) => Promise<Final>;
  let errorFor: (jobId: string) => Promise<Record<string, unknown>>;
  let n = 0;

  before(async () => {
    stack = await openStack({ instruments: { OK: {} }, worker: { retry: { attempts: 1 } } });
    ({ worker, send, errorFor } = await startWorker(stack, { OK: OK_SCRIPT }));
  });
  after(async () => {
    await worker.stop();
    await stack.close();
  });

  /** A plain job for instrument OK whose data file lies in the archive. */
  function job(fields: Record<string, unknown> = {}): Record<string, unknown> {
    const run = ++n;
    const dataFile = join(stack.config.archive.roots[0] ?? "", "OK", `OK_${run}.nxs.h5`);
    mkdirSync(join(dataFile, ".."), { recursive: true });
    writeFileSync(dataFile, "raw");
    return {
      facility: "SNS",
      instrument: "OK",
      ipts: "IPTS-7",
      run_number: run,
      data_file: dataFile,
      job_id: `trust-${run}`,
      ...fields,
    };
  }

  async function assertRefused(sent: Record<string, unknown>, reason: RegExp): Promise<void> {
    const final = await send(sent);
    assert.equal(final.destination, stack.config.queues.reduction_error, "the run gets an ERROR");
    assert.match(String(final.report.error), reason);
    assert.equal(final.report.refused, true);
    const error = await errorFor(String(sent.job_id));
    assert.match(String(error.error), reason, "POSTPROCESS.ERROR has the reason");
    assert.equal(JSON.parse(String(error.original_body)).job_id, sent.job_id, "and the original job");
  }

  test("a forged job with its own interpreter and script text does not run", async () => {
    const marker = join(stack.dir, "forged-ran");
    const text = `touch ${marker}\n`;
    const forged = job({
      interpreter: "bash",
      script: { path: join(stack.dir, "evil.sh"), text, hash: sha256(text) },
    });
    await assertRefused(forged, /script text but no coordinator signature/);
    assert.ok(!existsSync(marker), "the forged script never ran");
  });

  test("a job's interpreter field is ignored: the configured one runs the instrument's script", async () => {
    const final = await send(job({ interpreter: "bash" }));
    assert.equal(final.destination, stack.config.queues.reduction_complete, String(final.report.error));
  });

  test("a data file outside the archive roots is refused: /etc/passwd, /proc/self/environ, the state database", async () => {
    const database = stack.config.database.url.replace(/^sqlite:/, "");
    for (const dataFile of ["/etc/passwd", "/proc/self/environ", database]) {
      const sent = job({ data_file: dataFile });
      await assertRefused(sent, /outside this worker's archive roots/);
      assert.ok(
        !existsSync(join(stack.config.output.root, "OK", "IPTS-7", "shared", "autoreduce", "passwd.reduced")),
      );
    }
  });

  test("a link inside the archive pointing outside it is refused", async () => {
    const link = join(stack.config.archive.roots[0] ?? "", "OK", "innocent.nxs.h5");
    mkdirSync(join(link, ".."), { recursive: true });
    symlinkSync("/etc/passwd", link);
    await assertRefused(job({ data_file: link }), /outside this worker's archive roots/);
  });

  test("a data file that is not a regular file is refused", async () => {
    const folder = join(stack.config.archive.roots[0] ?? "", "OK", "a-folder.nxs.h5");
    mkdirSync(folder, { recursive: true });
    await assertRefused(job({ data_file: folder }), /not a regular file/);
  });

  test("an output folder outside the output root is refused and not created", async () => {
    const elsewhere = join(stack.dir, "elsewhere", "out");
    await assertRefused(job({ output_dir: elsewhere }), /outside this worker's output roots/);
    assert.ok(!existsSync(elsewhere), "the folder was not created");
  });

  test("an output folder reached through a link out of the output root is refused", async () => {
    const outside = join(stack.dir, "outside");
    mkdirSync(outside);
    mkdirSync(stack.config.output.root, { recursive: true });
    symlinkSync(outside, join(stack.config.output.root, "escape"));
    await assertRefused(
      job({ output_dir: join(stack.config.output.root, "escape", "x") }),
      /outside this worker's output roots/,
    );
    assert.ok(!existsSync(join(outside, "x")), "nothing was created outside");
  });

  test("names that would become unsafe path components are refused", async () => {
    await assertRefused(job({ ipts: "../../../../tmp" }), /ipts .* is not a safe path component/);
    await assertRefused(job({ facility: "/etc" }), /facility .* is not a safe path component/);
  });

  test("an unsigned job with variables is refused", async () => {
    await assertRefused(
      job({ variables: { standard_vars: { x: 1 }, advanced_vars: {} } }),
      /variables but no coordinator signature/,
    );
  });

  test("a job naming an executor this worker does not run is refused, never run", async () => {
    await assertRefused(
      job({ executor: "slurm" }),
      /route names executor "slurm", which this worker does not run \(its executors: local;/,
    );
  });

  test("a job naming the worker's own executor runs", async () => {
    const final = await send(job({ executor: "local" }));
    assert.equal(final.destination, stack.config.queues.reduction_complete, String(final.report.error));
    assert.equal(final.report.executor, "local");
  });

  test("after refusals, a plain SNS job still runs the instrument's script", async () => {
    const final = await send(job());
    assert.equal(final.destination, stack.config.queues.reduction_complete, String(final.report.error));
  });
});

describe("paths are judged again just before the script starts", () => {
  let stack: Stack;
  let worker: ReductionWorker;
  let send: (job: Record<string, unknown>) => Promise<Final>;

  // Holds the only slot until its output folder has a file named "go".
  const HOLD = `import sys, os, time
deadline = time.time() + 60
while not os.path.exists(sys.argv[2] + "go") and time.time() < deadline:
    time.sleep(0.05)
`;

  before(async () => {
    stack = await openStack({
      instruments: { HOLD: {}, OK: {} },
      worker: { max_procs: 1, retry: { attempts: 1 } },
    });
    ({ worker, send } = await startWorker(stack, { HOLD, OK: OK_SCRIPT }));
  });
  after(async () => {
    await worker.stop(0);
    await stack.close();
  });

  const dataFile = (instrument: string, run: number) => {
    const path = join(stack.config.archive.roots[0] ?? "", instrument, `${instrument}_${run}.nxs.h5`);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, "raw");
    return path;
  };

  test("an output folder turned into a link out of the output root while the job waited is refused", async () => {
    const q = stack.config.queues;
    const holdOut = join(stack.config.output.root, "hold");
    const holding = send({
      facility: "SNS",
      instrument: "HOLD",
      ipts: "IPTS-7",
      run_number: 1,
      data_file: dataFile("HOLD", 1),
      job_id: "hold-1",
      output_dir: holdOut,
    });
    holding.catch(() => {}); // awaited below; a failure before that is not an unhandled rejection
    await waitFor(() => worker.status().running.length === 1, "the slot taken");
    // Accepted now (the folder does not exist); then, while it waits for the slot, a link appears.
    const late = join(stack.config.output.root, "late");
    const waiting = send({
      facility: "SNS",
      instrument: "OK",
      ipts: "IPTS-7",
      run_number: 2,
      data_file: dataFile("OK", 2),
      job_id: "late-2",
      output_dir: join(late, "out"),
    });
    await waitFor(() => worker.status().waiting.length === 1, "the second job waiting for the slot");
    const outside = join(stack.dir, "outside-late");
    mkdirSync(outside);
    symlinkSync(outside, late);
    writeFileSync(join(holdOut, "go"), "");
    const refused = await waiting;
    assert.equal(refused.destination, q.reduction_error);
    assert.equal(refused.report.refused, true);
    assert.match(String(refused.report.error), /outside this worker's output roots/);
    assert.ok(!existsSync(join(outside, "out")), "nothing was created outside");
    assert.equal((await holding).destination, q.reduction_complete);
  });
});

describe("a script sees an explicit environment, not the worker's", () => {
  let stack: Stack;
  let worker: ReductionWorker;
  let send: (job: Record<string, unknown>) => Promise<Final>;
  const saved = { ...process.env };

  before(async () => {
    // What a facility worker's environment holds: credentials, and one variable meant for scripts.
    process.env.AUTOREDUCE_STOMP_PASSWORD = "broker-secret";
    process.env.PGPASSWORD = "database-secret";
    process.env.TRUST_TEST_VISIBLE = "visible";
    process.env.TRUSTPREFIX_ONE = "one";
    stack = await openStack({
      instruments: { ENV: {} },
      worker: {
        retry: { attempts: 1 },
        env_passthrough: ["TRUST_TEST_VISIBLE", "TRUSTPREFIX_*"],
        env: { FIXED_FOR_SCRIPTS: "fixed" },
      },
    });
    ({ worker, send } = await startWorker(stack, { ENV: ENV_SCRIPT }));
  });
  after(async () => {
    await worker?.stop();
    await stack?.close();
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  });

  test("credentials stay out; the base, pass-through and fixed variables are there", async () => {
    const dataFile = join(stack.config.archive.roots[0] ?? "", "ENV", "ENV_1.nxs.h5");
    mkdirSync(join(dataFile, ".."), { recursive: true });
    writeFileSync(dataFile, "raw");
    const final = await send({
      facility: "SNS",
      instrument: "ENV",
      ipts: "IPTS-7",
      run_number: 1,
      data_file: dataFile,
      job_id: "env-1",
    });
    assert.equal(final.destination, stack.config.queues.reduction_complete, String(final.report.error));
    const seen = JSON.parse(readFileSync(join(String(final.report.output_dir), "env.json"), "utf8")) as {
      env: Record<string, string>;
      tmp_is_dir: boolean;
    };
    assert.equal(seen.env.AUTOREDUCE_STOMP_PASSWORD, undefined, "no broker password");
    assert.equal(seen.env.PGPASSWORD, undefined, "no database password");
    assert.equal(seen.env.TRUST_TEST_VISIBLE, "visible", "a pass-through name");
    assert.equal(seen.env.TRUSTPREFIX_ONE, "one", "a pass-through prefix");
    assert.equal(seen.env.FIXED_FOR_SCRIPTS, "fixed", "a fixed value");
    // (a pyenv shim may put its own folders first)
    assert.ok(seen.env.PATH?.endsWith(String(process.env.PATH)), "the worker's PATH");
    assert.equal(seen.env.AUTOREDUCE_INSTRUMENT, "ENV");
    assert.equal(seen.env.PYTHONUNBUFFERED, "1");
    assert.ok(seen.tmp_is_dir, "TMPDIR is the job's own folder");
    assert.notEqual(seen.env.TMPDIR, process.env.TMPDIR);
  });
});
