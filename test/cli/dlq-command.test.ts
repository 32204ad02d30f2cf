import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Config, loadConfig } from "../../src/config/load-config.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { sendToErrorQueue } from "../../src/transport/error-queue.ts";
import { openTransport } from "../../src/transport/open-transport.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { cli, type Deployment, makeDeployment } from "../helpers/deployment.ts";
import { waitFor } from "../helpers/wait-for.ts";

describe("autoreduce dlq: operators look at dead letters and send them back or discard them", () => {
  let d: Deployment;
  let config: Config;
  let database: SqlDatabase;
  let transport: Transport;
  let close: () => Promise<void>;
  const DLQ = "/queue/DLQ.POSTPROCESS.DATA_READY";
  const ERRORS = "/queue/POSTPROCESS.ERROR";
  const dlq = (...args: string[]) => cli(["dlq", ...args, "--config", d.configFile]);

  before(async () => {
    d = makeDeployment({ transport: { embedded: { max_deliveries: 1 } } });
    config = loadConfig(d.configFile);
    database = await openStateDatabase(config.database.url);
    ({ transport, close } = await openTransport(config, silentLogger(), database));
    // A DATA_READY whose handling fails once is dead-lettered (max_deliveries: 1).
    await transport.send(config.queues.data_ready, { body: '{"run_number": 7}\nsecond line' });
    const sub = await transport.subscribe(config.queues.data_ready, async () => {
      throw new Error("the database was down");
    });
    await waitFor(async () => (await transport.browse(DLQ, 10)).length === 1, "the dead letter");
    await sub.unsubscribe();
    // A message refused as invalid goes to the error queue with its original.
    await sendToErrorQueue(
      transport,
      config.queues.postprocess_error,
      { body: '{"instrument": "X"}', destination: config.queues.data_ready, id: "m-1" },
      "run_number: required",
    );
  });
  after(async () => {
    await close();
    await database.close();
    d.cleanup();
  });

  test("list shows each queue's messages with when, where from, why, size and the first body line; status counts them", async () => {
    const listed = await dlq("list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /\/queue\/DLQ\.POSTPROCESS\.DATA_READY: 1 message/);
    assert.match(listed.stdout, /\/queue\/POSTPROCESS\.ERROR: 1 message/);
    assert.match(listed.stdout, /\/queue\/POSTPROCESS\.DATA_READY .*last error: the database was down/);
    assert.match(listed.stdout, /run_number: required/);
    assert.match(listed.stdout, /\{"run_number": 7\}/);
    assert.doesNotMatch(listed.stdout, /second line/);
    assert.match(listed.stdout, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    const status = await cli(["status", "--config", d.configFile]);
    assert.match(
      status.stdout,
      /Dead letters: 1 in \/queue\/DLQ\.POSTPROCESS\.DATA_READY, 1 in \/queue\/POSTPROCESS\.ERROR/,
    );
  });

  test("show prints one message with its headers and body", async () => {
    const [letter] = await transport.browse(DLQ, 10);
    const shown = await dlq("show", letter?.id ?? "?");
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /x-dead-letter-reason: .*the database was down/);
    assert.match(shown.stdout, /x-original-destination: \/queue\/POSTPROCESS\.DATA_READY/);
    assert.match(shown.stdout, /body:\n\{"run_number": 7\}\nsecond line/);
    assert.equal((await dlq("show", "no-such-id")).code, 1);
  });

  test("discard without --yes only says what it would remove; a work queue is refused (exit 2)", async () => {
    const dry = await dlq("discard", "--all", "DLQ.POSTPROCESS.DATA_READY");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would remove 1 message[\s\S]*add --yes/);
    assert.equal((await transport.browse(DLQ, 10)).length, 1);
    const work = await dlq("discard", "--all", "POSTPROCESS.DATA_READY", "--yes");
    assert.equal(work.code, 2);
    assert.match(work.stderr, /not a dead-letter queue/);
  });

  test("reinject sends a dead letter back to its queue and removes it; an error-queue message's original goes back", async () => {
    const [letter] = await transport.browse(DLQ, 10);
    const sent = await dlq("reinject", letter?.id ?? "?");
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /sent to \/queue\/POSTPROCESS\.DATA_READY/);
    assert.deepEqual(await transport.browse(DLQ, 10), []);
    const back = await transport.browse(config.queues.data_ready, 10);
    assert.deepEqual(
      back.map((m) => [m.body, m.headers["x-dead-letter-reason"]]),
      [['{"run_number": 7}\nsecond line', undefined]],
    );
    const all = await dlq("reinject", "--all", "POSTPROCESS.ERROR");
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(
      (await transport.browse(config.queues.data_ready, 10)).map((m) => m.body),
      ['{"run_number": 7}\nsecond line', '{"instrument": "X"}'],
    );
    assert.deepEqual(await transport.browse(ERRORS, 10), []);
  });

  test("discard --yes removes for good", async () => {
    await sendToErrorQueue(
      transport,
      config.queues.postprocess_error,
      { body: "not json", destination: "/queue/ELSEWHERE", id: "m-2" },
      "not JSON",
    );
    const refused = await dlq("reinject", "--all", "POSTPROCESS.ERROR");
    assert.equal(refused.code, 1, "a destination not in the configuration is refused");
    assert.match(refused.stderr, /ELSEWHERE, which is not a queue of this configuration/);
    const gone = await dlq("discard", "--all", "POSTPROCESS.ERROR", "--yes");
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, /removed 1 message/);
    assert.deepEqual(await transport.browse(ERRORS, 10), []);
  });
});
