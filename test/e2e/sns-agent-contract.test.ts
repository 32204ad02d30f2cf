import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, totalmem } from "node:os";
import { basename, join } from "node:path";
import { after, before, test } from "node:test";
import type { ActiveMQ } from "../../scripts/services/activemq.ts";
import { configFromObject } from "../../src/config/load-config.ts";
import { createLogger } from "../../src/logging/logger.ts";
import { openTransport } from "../../src/transport/open-transport.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { privateActiveMQ } from "../helpers/brokers.ts";
import { cli, type Daemon, startDaemon } from "../helpers/deployment.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * Plays SNS's workflow manager to our worker over a real ActiveMQ, with the message bodies of the
 * agent's integration tests (neutrons/post_processing_agent tests/integration/test_data_ready.py,
 * test_heartbeat.py) and data_workflow's limit tests: two `autoreduce worker` processes started
 * only with an agent JSON each (no YAML), as an ordinary node and a high-memory node, with
 * `dev_instrument_shared` and `dev_output_dir` pointing at temp folders. Every reply is compared
 * with what the agent sends: the job's fields exactly as sent, `information` = host name.
 */

const SCRIPTS: Record<string, string> = {
  // The agent's EQSANS fixture prints its argv: the output folder comes with a trailing slash.
  EQSANS: "import sys\nprint(sys.argv[1:])\n",
  CORELLI: "raise RuntimeError('This is an ERROR!')\n",
  // stderr without "Error:" and exit 0: still an error by the agent's rule.
  REF_L: "import sys\nsys.stderr.write('regex not found\\n')\n",
  // An allow-listed error line: a success that carries the line in `information`.
  REF_M: "import sys\nsys.stderr.write('Error: The proton charge is zero\\n')\n",
  // Well above the high-memory node's 1 % limit (about 240 MB of this 24 GB machine).
  PG3: "import time\nblock = b'x' * (900 * 1024 * 1024)\ntime.sleep(60)\n",
  NOM: "import time\ntime.sleep(60)\n",
};
// Long enough that the memory hog, starting Python and writing 900 MB on a loaded 2-core machine,
// passes the memory limit well before the time limit (at 0.1 min it once did not).
const HIMEM_TIME_LIMIT_MINUTES = 0.25;
const HIMEM_MEMORY_PERCENT = 1;

const scratch = tempDir("autoreduce-sns-agent-");
const data = join(scratch.path, "data");
const shared = join(scratch.path, "shared");
const output = join(scratch.path, "out");
let broker: ActiveMQ;
let worker: Daemon;
let himem: Daemon;
let wm: { transport: Transport; close: () => Promise<void> };
const replies = new Map<string, Array<Record<string, unknown>>>();

/** An agent config as SNS writes it, plus ours: where test data files may lie. */
function agentConf(name: string, port: number, processor: string, limits: Record<string, number>): string {
  const file = join(scratch.path, name);
  const conf = {
    failover_uri: `failover:(tcp://127.0.0.1:${port})?randomize=false`,
    brokers: [["127.0.0.1", port]],
    amq_user: "icat",
    amq_pwd: "icat",
    postprocess_error: "POSTPROCESS.ERROR",
    reduction_started: "REDUCTION.STARTED",
    reduction_complete: "REDUCTION.COMPLETE",
    reduction_error: "REDUCTION.ERROR",
    reduction_disabled: "REDUCTION.DISABLED",
    heart_beat: "/topic/SNS.COMMON.STATUS.AUTOREDUCE.0",
    dev_instrument_shared: shared,
    dev_output_dir: output,
    reduction_data_ready: "REDUCTION.DATA_READY",
    communication_only: 0,
    max_procs: 4,
    exceptions: ["Error in logging framework", "The proton charge is zero"],
    processors: ["create_reduction_script_processor.CreateReductionScriptProcessor", processor],
    autoreduce_archive_roots: [data],
    ...limits,
  };
  writeFileSync(file, JSON.stringify(conf, null, 2));
  return file;
}

before(async () => {
  mkdirSync(data, { recursive: true });
  mkdirSync(shared, { recursive: true });
  for (const [instrument, text] of Object.entries(SCRIPTS)) {
    writeFileSync(join(shared, `reduce_${instrument}.py`), text);
  }
  broker = await privateActiveMQ(scratch.path);
  const stomp = { brokers: [`127.0.0.1:${broker.port}`] };
  wm = await openTransport(
    configFromObject({ transport: { kind: "stomp", stomp } }, "(test)", {}),
    createLogger("error", "test"),
  );
  const queues = ["STARTED", "COMPLETE", "ERROR", "DISABLED"].map((q) => `/queue/REDUCTION.${q}`);
  const heard = [
    ...queues,
    "/queue/POSTPROCESS.ERROR",
    "/queue/PING_TEST",
    "/topic/SNS.COMMON.STATUS.AUTOREDUCE.0",
  ];
  for (const destination of heard) {
    replies.set(destination, []);
    await wm.transport.subscribe(destination, async (m) => {
      replies.get(destination)?.push(JSON.parse(m.body) as Record<string, unknown>);
    });
  }
  const normal = agentConf("post_processing.conf", broker.port, "reduction_processor.ReductionProcessor", {});
  const big = agentConf(
    "post_processing.himem.conf",
    broker.port,
    "reduction_processor.ReductionProcessorHighMemory",
    {
      system_mem_limit_perc: HIMEM_MEMORY_PERCENT,
      mem_check_interval_sec: 0.05,
      task_time_limit_minutes: HIMEM_TIME_LIMIT_MINUTES,
    },
  );
  worker = startDaemon(["worker", "--post-processing-conf", normal]);
  himem = startDaemon(["worker", "--post-processing-conf", big]);
  // Both listen once each has beaten (the ping topic keeps nothing for late subscribers).
  for (const daemon of [worker, himem]) {
    await waitFor(
      () => heartbeats().find((b) => String(b.pid) === String(daemon.proc.pid)),
      `a heartbeat of worker ${daemon.proc.pid}\n${daemon.output()}`,
      60_000,
    );
  }
});
after(async () => {
  await worker?.kill();
  await himem?.kill();
  await wm?.close();
  await broker?.stop();
  scratch.cleanup();
});

const heartbeats = () => replies.get("/topic/SNS.COMMON.STATUS.AUTOREDUCE.0") ?? [];

/** The workflow manager's job: string run number, instrument as WebMon spells it. */
function job(instrument: string, run: string, file = `${instrument.toUpperCase()}_${run}_event.nxs`) {
  const dataFile = join(data, file);
  writeFileSync(dataFile, "raw data");
  return { run_number: run, instrument, ipts: "IPTS-10674", facility: "SNS", data_file: dataFile };
}

async function send(body: Record<string, unknown>, queue = "/queue/REDUCTION.DATA_READY"): Promise<void> {
  await wm.transport.send(queue, { body: JSON.stringify(body) });
}

function replyOn(destination: string, run: string): Promise<Record<string, unknown>> {
  return waitFor(
    () => replies.get(destination)?.find((r) => r.run_number === run),
    `${destination} for run ${run}\n--- worker:\n${worker.output()}\n--- himem:\n${himem.output()}`,
    60_000,
  );
}

/** The reply's values of the job's keys and of `information`: what the agent's reply carries. */
function echoed(reply: Record<string, unknown>, sent: Record<string, unknown>, ...more: string[]) {
  const keys = [...Object.keys(sent), "information", ...more];
  return Object.fromEntries(keys.filter((k) => k in reply).map((k) => [k, reply[k]]));
}

const host = hostname();

test("EQSANS: STARTED and COMPLETE echo the job exactly (string run number, lower-case instrument, extra keys); the log has argv with the trailing slash; the .err is gone", async () => {
  const sent = { ...job("eqsans", "30892"), extra_key: { kept: [1, "a"] } };
  await send(sent);
  const started = await replyOn("/queue/REDUCTION.STARTED", "30892");
  const complete = await replyOn("/queue/REDUCTION.COMPLETE", "30892");
  for (const reply of [started, complete]) {
    assert.deepEqual(echoed(reply, sent, "error"), { ...sent, information: host });
  }
  const logs = join(output, "reduction_log");
  const log = readFileSync(join(logs, "EQSANS_30892_event.nxs.log"), "utf8");
  assert.equal(log.trim(), `['${sent.data_file}', '${output}/']`);
  assert.ok(!existsSync(join(logs, "EQSANS_30892_event.nxs.err")), "the agent deletes the .err of a success");
});

test("a missing data file goes to POSTPROCESS.ERROR at once with the agent's text, and nothing else", async () => {
  const sent = { ...job("eqsans", "30893"), data_file: join(data, "DOES_NOT_EXIST.nxs") };
  await send(sent);
  const error = await replyOn("/queue/POSTPROCESS.ERROR", "30893");
  assert.deepEqual(echoed(error, sent, "error"), {
    ...sent,
    information: host,
    error: `Data file not found: ${sent.data_file}`,
  });
  const { instrument: _dropped, ...noInstrument } = job("eqsans", "30894");
  await send(noInstrument);
  const missing = await replyOn("/queue/POSTPROCESS.ERROR", "30894");
  assert.equal(missing.error, "Instrument is missing");
  // A later job on the same queue is answered, so the missing-file job had its chance to be.
  await send(job("eqsans", "30895"));
  await replyOn("/queue/REDUCTION.COMPLETE", "30895");
  for (const queue of ["STARTED", "ERROR", "COMPLETE", "DISABLED"]) {
    const got = replies.get(`/queue/REDUCTION.${queue}`) ?? [];
    assert.ok(!got.some((r) => r.run_number === "30893" || r.run_number === "30894"), queue);
  }
});

test("a job that cannot start is retried, and WebMon sees why: a STARTED whose information says so; then it completes", async () => {
  const sent = job("eqsans", "30896");
  // A folder where the job's log file goes: the script cannot be started (not the script's fault).
  const blocker = join(output, "reduction_log", `${basename(sent.data_file)}.log`);
  mkdirSync(blocker, { recursive: true });
  await send(sent);
  const waiting = await replyOn("/queue/REDUCTION.STARTED", "30896");
  assert.match(
    String(waiting.information),
    new RegExp(`^${host}: could not start; .*attempt 1 of \\d+; trying again in`),
  );
  assert.deepEqual(echoed(waiting, sent, "information").run_number, "30896", "the job's fields as sent");
  rmSync(blocker, { recursive: true });
  // The retry's delay is the default's (30 s): the run then completes, as WebMon will show.
  const done = await waitFor(
    () => replies.get("/queue/REDUCTION.COMPLETE")?.find((r) => r.run_number === "30896"),
    `COMPLETE for run 30896 after the retry\n${worker.output()}`,
    120_000,
  );
  assert.equal(done.information, host);
});

test("an instrument without a script: STARTED, then DISABLED echoing the job, without an error", async () => {
  const sent = job("topaz", "401");
  await send(sent);
  const started = await replyOn("/queue/REDUCTION.STARTED", "401");
  const disabled = await replyOn("/queue/REDUCTION.DISABLED", "401");
  assert.deepEqual(echoed(started, sent, "error"), { ...sent, information: host });
  assert.deepEqual(echoed(disabled, sent, "error"), { ...sent, information: host });
});

test("a raising script is REDUCTION.ERROR 'REDUCTION: This is an ERROR!', on both queues; HIMEM is served by the high-memory node", async () => {
  const sent = job("corelli", "501");
  await send(sent);
  const error = await replyOn("/queue/REDUCTION.ERROR", "501");
  assert.deepEqual(echoed(error, sent, "error"), {
    ...sent,
    information: host,
    error: "REDUCTION: This is an ERROR!",
  });
  const onHimem = job("corelli", "502");
  await send(onHimem, "/queue/REDUCTION.HIMEM.DATA_READY");
  const himemError = await replyOn("/queue/REDUCTION.ERROR", "502");
  assert.equal(himemError.error, "REDUCTION: This is an ERROR!");
  const started = await replyOn("/queue/REDUCTION.STARTED", "502");
  assert.equal(started.pid, himem.proc.pid, "the high-memory node ran it");
  assert.equal((await replyOn("/queue/REDUCTION.STARTED", "501")).pid, worker.proc.pid);
});

test("the stderr rule: a plain stderr line fails a script that exits 0; an allow-listed one is a success with the line as information", async () => {
  const plain = job("ref_l", "601");
  const allowed = job("ref_m", "602");
  await send(plain);
  await send(allowed);
  const error = await replyOn("/queue/REDUCTION.ERROR", "601");
  assert.deepEqual(echoed(error, plain, "error"), {
    ...plain,
    information: host,
    error: "REDUCTION: regex not found",
  });
  const complete = await replyOn("/queue/REDUCTION.COMPLETE", "602");
  assert.deepEqual(echoed(complete, allowed, "error"), {
    ...allowed,
    information: "The proton charge is zero",
  });
  assert.ok(!existsSync(join(output, "reduction_log", "REF_M_602_event.nxs.err")));
});

test("the memory and time limits kill as the agent does: its line in the .err and in the error", async () => {
  const hog = job("pg3", "701");
  const sleeper = job("nom", "702");
  await send(hog, "/queue/REDUCTION.HIMEM.DATA_READY");
  await send(sleeper, "/queue/REDUCTION.HIMEM.DATA_READY");
  const memory = await replyOn("/queue/REDUCTION.ERROR", "701");
  const limitGiB = ((totalmem() * HIMEM_MEMORY_PERCENT) / 100 / 1024 ** 3).toFixed(6);
  const memoryText =
    /^Total memory usage exceeded limit \((\d+\.\d{6}) GiB > (\d+\.\d{6}) GiB\)\. Terminating job\.$/;
  const [, used, limit] = memoryText.exec(String(memory.error).replace(/^REDUCTION: /, "")) ?? [];
  assert.ok(String(memory.error).startsWith("REDUCTION: "), String(memory.error));
  assert.equal(limit, limitGiB, String(memory.error));
  assert.ok(Number(used) > Number(limit));
  const errFile = join(output, "reduction_log", "PG3_701_event.nxs.err");
  assert.equal(
    readFileSync(errFile, "utf8").trim().split("\n").at(-1),
    String(memory.error).slice("REDUCTION: ".length),
  );
  const time = await replyOn("/queue/REDUCTION.ERROR", "702");
  assert.match(
    String(time.error),
    new RegExp(
      `^REDUCTION: Time limit exceeded \\(\\d+\\.\\d{6} s > ${(HIMEM_TIME_LIMIT_MINUTES * 60).toFixed(6)} s\\)\\. Terminating job\\.$`,
    ),
  );
  assert.deepEqual(echoed(time, sleeper), { ...sleeper, information: host });
});

test("heartbeats on /topic/SNS.COMMON.STATUS.AUTOREDUCE.0 and a ping answered at its reply_to", async () => {
  const beat = heartbeats().find((b) => String(b.pid) === String(worker.proc.pid));
  assert.ok(beat);
  assert.equal(beat.src_name, host);
  assert.equal(beat.role, "postprocessing");
  assert.equal(beat.status, "0");
  assert.match(String(beat.pid), /^\d+$/);
  await wm.transport.send("/topic/SNS.COMMON.STATUS.PING", {
    body: JSON.stringify({ reply_to: "/queue/PING_TEST" }),
  });
  const answers = await waitFor(
    () => {
      const got = replies.get("/queue/PING_TEST") ?? [];
      return got.length >= 2 ? got : undefined;
    },
    "both workers to answer the ping",
    30_000,
  );
  for (const answer of answers) {
    assert.equal(answer.src_name, host);
    assert.equal(answer.role, "postprocessing");
    assert.equal(answer.status, "0");
    assert.equal(answer.reply_to, "/queue/PING_TEST");
  }
  assert.deepEqual(
    answers.map((a) => String(a.pid)).sort(),
    [String(worker.proc.pid), String(himem.proc.pid)].sort(),
  );
});

test("--show-config shows the dev folders and the archive roots from the agent file", async () => {
  const shown = await cli([
    "worker",
    "--post-processing-conf",
    join(scratch.path, "post_processing.conf"),
    "--show-config",
  ]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(
    shown.stdout,
    new RegExp(`^scripts: ${shared}/reduce_\\{instrument\\}\\.py with python3$`, "m"),
  );
  assert.match(shown.stdout, new RegExp(`^output: ${output}$`, "m"));
  assert.match(shown.stdout, new RegExp(`^archive roots: ${data}$`, "m"));
  assert.match(shown.stdout, /used {5}dev_instrument_shared → scripts\.root, scripts\.folder, scripts\.file/);
});
