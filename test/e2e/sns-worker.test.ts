import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ActiveMQ } from "../../scripts/services/activemq.ts";
import { configFromObject } from "../../src/config/load-config.ts";
import { createLogger } from "../../src/logging/logger.ts";
import { openTransport } from "../../src/transport/open-transport.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { privateActiveMQ } from "../helpers/brokers.ts";
import { type Daemon, type Deployment, makeDeployment, startDaemon } from "../helpers/deployment.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The test plays SNS's workflow manager to our worker over a real ActiveMQ: it sends what the
 * workflow manager sends on REDUCTION.DATA_READY (only the SNS fields) and checks every reply.
 */

const OK = `import sys
print("reducing", sys.argv[1])
`;
const FAILS = `import sys
sys.stderr.write("Error: calibration file missing\\n")
sys.exit(1)
`;

const scratch = tempDir("autoreduce-sns-worker-");
let broker: ActiveMQ;
let d: Deployment;
let worker: Daemon;
let wm: { transport: Transport; close: () => Promise<void> };
const replies = new Map<string, Array<Record<string, unknown>>>();

before(async () => {
  broker = await privateActiveMQ(scratch.path);
  const stomp = { brokers: [`127.0.0.1:${broker.port}`] };
  d = makeDeployment({
    transport: { kind: "stomp", stomp },
    instruments: { GOOD: {}, BAD: {}, NOSCRIPT: {} },
    heartbeat: { interval_seconds: 0.5 },
  });
  d.writeScript("GOOD", OK);
  d.writeScript("BAD", FAILS);
  wm = await openTransport(
    configFromObject({ transport: { kind: "stomp", stomp } }, "(test)", {}),
    createLogger("error", "test"),
  );
  for (const queue of ["STARTED", "COMPLETE", "ERROR", "DISABLED"]) {
    replies.set(queue, []);
    await wm.transport.subscribe(`/queue/REDUCTION.${queue}`, async (m) => {
      replies.get(queue)?.push(JSON.parse(m.body) as Record<string, unknown>);
    });
  }
  replies.set("POSTPROCESS.ERROR", []);
  await wm.transport.subscribe("/queue/POSTPROCESS.ERROR", async (m) => {
    replies.get("POSTPROCESS.ERROR")?.push(JSON.parse(m.body) as Record<string, unknown>);
  });
  replies.set("heartbeat", []);
  await wm.transport.subscribe("/topic/SNS.COMMON.STATUS.AUTOREDUCE.0", async (m) => {
    replies.get("heartbeat")?.push(JSON.parse(m.body) as Record<string, unknown>);
  });
  worker = startDaemon(["worker", "--config", d.configFile]);
});
after(async () => {
  await worker?.kill();
  await wm?.close();
  await broker?.stop();
  d?.cleanup();
  scratch.cleanup();
});

/** What SNS's workflow manager sends: the SNS fields only, run number as a string. */
async function snsJob(instrument: string, run: number): Promise<Record<string, string>> {
  const job = {
    data_file: await d.writeRun(instrument, run),
    facility: "SNS",
    instrument,
    ipts: "IPTS-1234",
    run_number: String(run),
  };
  await wm.transport.send("/queue/REDUCTION.DATA_READY", { body: JSON.stringify(job) });
  return job;
}

const replyFor = (queue: string, run: string) =>
  waitFor(
    () => replies.get(queue)?.find((r) => String(r.run_number) === run),
    `REDUCTION.${queue} for run ${run}`,
    30_000,
  );

test("a workflow manager's job is reduced; STARTED and COMPLETE carry its fields back with the host in information", async () => {
  const job = await snsJob("GOOD", 11);
  const started = await replyFor("STARTED", "11");
  const complete = await replyFor("COMPLETE", "11");
  for (const reply of [started, complete]) {
    for (const [key, value] of Object.entries(job)) {
      assert.equal(String(reply[key]), value, `${key} is carried back`);
    }
    assert.equal(reply.information, hostname());
  }
});

test("a failing script is a REDUCTION.ERROR with the error in the agent's form", async () => {
  await snsJob("BAD", 12);
  const error = await replyFor("ERROR", "12");
  assert.match(String(error.error), /^REDUCTION: /);
  assert.match(String(error.error), /calibration file missing/);
  assert.equal(error.information, hostname());
  assert.equal(error.instrument, "BAD");
});

test("an instrument without a script is REDUCTION.DISABLED", async () => {
  await snsJob("NOSCRIPT", 13);
  const disabled = await replyFor("DISABLED", "13");
  assert.equal(disabled.information, hostname());
  assert.match(String(disabled.error), /no reduction script/);
});

test("the worker's heartbeat has the agent's fields", async () => {
  const beat = await waitFor(() => replies.get("heartbeat")?.[0], "a heartbeat", 15_000);
  assert.equal(beat.src_name, hostname());
  assert.equal(beat.role, "postprocessing");
  assert.equal(beat.status, "0");
  assert.match(String(beat.pid), /^\d+$/);
});

test("a job forged on the shared broker is refused and never runs: its own interpreter and script text, a file outside the archive", async () => {
  const marker = join(d.dir, "forged-ran");
  const forged = {
    data_file: await d.writeRun("GOOD", 14),
    facility: "SNS",
    instrument: "GOOD",
    ipts: "IPTS-1234",
    run_number: "14",
    interpreter: "bash",
    script: { path: join(d.dir, "evil.sh"), text: `touch ${marker}\n`, hash: "" },
  };
  await wm.transport.send("/queue/REDUCTION.DATA_READY", { body: JSON.stringify(forged) });
  const outside = { ...forged, run_number: "15", data_file: "/etc/passwd" };
  delete (outside as { script?: unknown }).script;
  await wm.transport.send("/queue/REDUCTION.DATA_READY", { body: JSON.stringify(outside) });
  const refusedScript = await replyFor("ERROR", "14");
  assert.equal(refusedScript.refused, true);
  assert.match(String(refusedScript.error), /script text but no coordinator signature/);
  const refusedFile = await replyFor("ERROR", "15");
  assert.match(String(refusedFile.error), /outside this worker's archive roots/);
  const errors = await waitFor(
    () => {
      const got = replies.get("POSTPROCESS.ERROR") ?? [];
      return got.length >= 2 ? got : undefined;
    },
    "both jobs on POSTPROCESS.ERROR",
    30_000,
  );
  assert.deepEqual(errors.map((e) => String(e.run_number)).sort(), ["14", "15"]);
  assert.ok(!existsSync(marker), "the forged script never ran");
  assert.equal(
    replies.get("STARTED")?.some((r) => ["14", "15"].includes(String(r.run_number))),
    false,
  );
});
