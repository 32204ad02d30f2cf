import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { configFromObject } from "../../src/config/load-config.ts";
import { createLogger } from "../../src/logging/logger.ts";
import { type RunEventView, runEvents } from "../../src/store/run-views.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { openTransport } from "../../src/transport/open-transport.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { isolatedQueues, sharedActiveMQ } from "../helpers/brokers.ts";
import {
  type Daemon,
  type Deployment,
  makeDeployment,
  startDaemon,
  waitForRun,
} from "../helpers/deployment.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * Our coordinator with SNS post-processing agents as its only workers, over the real ActiveMQ.
 * The agent is played by test/fixtures/sns-agent/fake_agent.py, which starts each job the
 * agent's way: acked on receipt, then the whole job, spaces removed, as ONE argument of a child
 * process (E2BIG above 128 KiB, and then nothing is sent). The agent reads the scripts of its own
 * node (`<agent>/SNS/<INST>/shared/autoreduce/`), which the coordinator may not see.
 */

const AGENT_HOST = "autoreducer-test.sns.gov";
const FIXTURE = join(import.meta.dirname, "..", "fixtures", "sns-agent", "fake_agent.py");

/** An SNS-convention script of about 150 KB (a long comment block, as real scripts carry tables). */
const BIG_SCRIPT = `import sys, os
${"# calibration table row ........................................................\n".repeat(1900)}
data, out = sys.argv[1], sys.argv[2]
with open(os.path.join(out, "reduced_%s.txt" % os.path.basename(data)), "w") as f:
    f.write("ok")
`;
const SMALL_SCRIPT = `import sys
print("reduced", sys.argv[1])
`;

const tag = `agent${process.pid}`;
const queues = isolatedQueues(tag);
let d: Deployment;
let coordinator: Daemon;
let agent: ChildProcess;
let agentLog = "";
let database: SqlDatabase;
let client: { transport: Transport; close: () => Promise<void> };
let agentScripts: string;

before(async () => {
  const broker = sharedActiveMQ().replace(/^stomp:\/\//, "");
  d = makeDeployment({
    transport: { kind: "stomp", stomp: { brokers: [broker] } },
    queues,
    instruments: {
      BIGSCRIPT: { workers: "sns-agent" },
      AGENTONLY: { workers: "sns-agent" },
      NOSCRIPT: { workers: "sns-agent" },
      LOST: { workers: "sns-agent" },
    },
    heartbeat: { interval_seconds: 0.5, foreign_interval_seconds: 1 },
    sweeper: { interval_seconds: 1, start_timeout_seconds: 4, grace_seconds: 60, max_attempts: 3 },
  });
  // The coordinator reads BIGSCRIPT's and LOST's scripts; AGENTONLY's is only on the agent's node.
  d.writeScript("BIGSCRIPT", BIG_SCRIPT);
  d.writeScript("LOST", SMALL_SCRIPT);
  agentScripts = join(d.dir, "agent-node", "SNS");
  for (const [instrument, text] of [
    ["BIGSCRIPT", BIG_SCRIPT],
    ["AGENTONLY", SMALL_SCRIPT],
    ["LOST", SMALL_SCRIPT],
  ] as const) {
    const dir = join(agentScripts, instrument, "shared", "autoreduce");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `reduce_${instrument}.py`), text);
  }
  const agentConfig = join(d.dir, "fake-agent.json");
  writeFileSync(
    agentConfig,
    JSON.stringify({
      broker,
      queue: queues.reduction_data_ready,
      started: queues.reduction_started,
      complete: queues.reduction_complete,
      error: queues.reduction_error,
      disabled: queues.reduction_disabled,
      heartbeat: queues.heartbeat,
      heartbeat_seconds: 0.5,
      host: AGENT_HOST,
      instrument_root: agentScripts,
      output_root: join(d.dir, "agent-node", "output"),
      swallow_runs: [31],
      sns_only_runs: [41],
    }),
  );
  // No __pycache__ in the source tree.
  agent = spawn("python3", [FIXTURE, agentConfig], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  agent.stdout?.on("data", (c) => {
    agentLog += c;
  });
  agent.stderr?.on("data", (c) => {
    agentLog += c;
  });
  await waitFor(() => agentLog.includes("listening on"), "the fake SNS agent to subscribe", 30_000);
  coordinator = startDaemon(["coordinator", "--config", d.configFile]);
  database = await openStateDatabase(`sqlite:${join(d.dir, "autoreduce.db")}`);
  client = await openTransport(
    configFromObject({ transport: { kind: "stomp", stomp: { brokers: [broker] } } }, "(test)", {}),
    createLogger("error", "test"),
  );
});

after(async () => {
  await coordinator?.stop();
  agent?.kill("SIGKILL");
  await client?.close();
  await database?.close();
  d?.cleanup();
});

/** Announces a run as the DAQ does: lower-case instrument, run number as a string. */
async function announce(instrument: string, run: number): Promise<void> {
  const dataFile = await d.writeRun(instrument, run);
  await client.transport.send(queues.data_ready ?? assert.fail("no data_ready queue"), {
    body: JSON.stringify({
      facility: "SNS",
      instrument: instrument.toLowerCase(),
      ipts: "IPTS-1234",
      run_number: String(run),
      data_file: dataFile,
    }),
  });
}

const timeline = (instrument: string, run: number) => runEvents(database, instrument, run);
const from = (events: RunEventView[], suffix: string) => events.filter((e) => e.destination.endsWith(suffix));
const failure = () => `\n--- coordinator ---\n${coordinator.output()}\n--- agent ---\n${agentLog}`;

test("a run whose instrument script is ~150 KB reaches the SNS agent and completes (the job carries no script text)", async () => {
  await announce("BIGSCRIPT", 11);
  const run = await waitForRun(
    d.configFile,
    (r) => r.instrument === "BIGSCRIPT" && r.run_number === 11 && r.status === "completed",
    "BIGSCRIPT 11 completed",
    60_000,
  ).catch((e: Error) => assert.fail(`${e.message}${failure()}`));
  assert.equal(run.host, AGENT_HOST, "the agent's host, from `information`");
  assert.ok(run.script_hash, "the coordinator still records the script it read");
  const events = await timeline("BIGSCRIPT", 11);
  const sent = from(events, "REDUCTION.DATA_READY");
  assert.equal(sent.length, 1);
  const job = sent[0]?.body as Record<string, unknown>;
  assert.equal(job.script, undefined, "no script text for an agent");
  assert.equal(job.variables, undefined);
  assert.ok(JSON.stringify(job).length < 2_000, "a job an agent can take as one argument");
  assert.equal(from(events, "REDUCTION.STARTED").length, 1);
});

test("a coordinator that cannot read the script sends the job anyway; the agent runs its own script", async () => {
  await announce("AGENTONLY", 21);
  const run = await waitForRun(
    d.configFile,
    (r) => r.instrument === "AGENTONLY" && r.run_number === 21 && r.status === "completed",
    "AGENTONLY 21 completed by the agent",
    60_000,
  ).catch((e: Error) => assert.fail(`${e.message}${failure()}`));
  assert.equal(run.host, AGENT_HOST);
  assert.equal(run.script_hash, null, "the coordinator read no script");
});

test("no script on either side: the agent's REDUCTION.DISABLED marks the run disabled", async () => {
  await announce("NOSCRIPT", 22);
  const run = await waitForRun(
    d.configFile,
    (r) => r.instrument === "NOSCRIPT" && r.run_number === 22 && r.status === "disabled",
    "NOSCRIPT 22 disabled by the agent",
    60_000,
  ).catch((e: Error) => assert.fail(`${e.message}${failure()}`));
  assert.equal(run.host, AGENT_HOST, "decided by the agent, not the coordinator");
  const events = await timeline("NOSCRIPT", 22);
  assert.equal(from(events, "REDUCTION.DATA_READY").length, 1, "the job was sent");
  assert.equal(from(events, "REDUCTION.DISABLED").length, 1);
});

test("a job the agent took and never STARTED is flagged on the timeline, re-sent, and completes", async () => {
  await announce("LOST", 31);
  const run = await waitForRun(
    d.configFile,
    (r) => r.instrument === "LOST" && r.run_number === 31 && r.status === "completed",
    "LOST 31 completed after being re-sent",
    90_000,
  ).catch((e: Error) => assert.fail(`${e.message}${failure()}`));
  assert.equal(run.attempts, 2);
  const events = await timeline("LOST", 31);
  const swept = events.filter((e) => e.destination === "sweeper");
  assert.equal(swept.length, 1, JSON.stringify(events.map((e) => e.destination)));
  const reason = String((swept[0]?.body as { reason?: string } | undefined)?.reason);
  assert.match(reason, /no STARTED \d+ s after the job was sent .* a worker took it and lost it/);
  assert.match(reason, /re-queued \(attempt 2\)/);
  assert.equal(from(events, "REDUCTION.DATA_READY").length, 2, "sent twice");
  assert.ok(agentLog.includes("swallowed the job of run 31"));
});

test("an agent's reports with only the SNS fields (lower-case instrument, string run number) are recorded", async () => {
  await announce("AGENTONLY", 41);
  const run = await waitForRun(
    d.configFile,
    (r) => r.instrument === "AGENTONLY" && r.run_number === 41 && r.status === "completed",
    "AGENTONLY 41 completed from reports without job_id",
    60_000,
  ).catch((e: Error) => assert.fail(`${e.message}${failure()}`));
  assert.equal(run.host, AGENT_HOST);
  const started = from(await timeline("AGENTONLY", 41), "REDUCTION.STARTED")[0]?.body as Record<
    string,
    unknown
  >;
  assert.equal(started.job_id, undefined, "the report had no job id");
  assert.equal(started.instrument, "agentonly");
  assert.equal(started.run_number, "41");
});
