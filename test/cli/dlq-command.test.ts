import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ConfigInput } from "../../src/config/config-schema.ts";
import { type Config, configFromObject, loadConfig } from "../../src/config/load-config.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { sendToErrorQueue } from "../../src/transport/error-queue.ts";
import { openTransport } from "../../src/transport/open-transport.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { sharedActiveMQ, sharedRabbitMQ } from "../helpers/brokers.ts";
import { cli, type Deployment, makeDeployment } from "../helpers/deployment.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * On the embedded transport and on both brokers. The brokers are shared with other tests and
 * outlive runs, so there every queue of the configuration gets a name of this run's own.
 */
const backends: Array<[string, () => ConfigInput]> = [
  ["embedded", () => ({ transport: { embedded: { max_deliveries: 1 } } })],
  ["RabbitMQ", () => onBroker(sharedRabbitMQ())],
  ["ActiveMQ", () => onBroker(sharedActiveMQ())],
];

function onBroker(broker: string): ConfigInput {
  const run = `T${process.pid}.${Date.now().toString(36)}`;
  const defaults = configFromObject({}, "(defaults)", {}).queues;
  const queues = Object.fromEntries(
    Object.entries(defaults).map(([key, name]) => [key, name.replace(/^\/(queue|topic)\//, `/$1/${run}.`)]),
  );
  return { transport: { kind: "stomp", stomp: { brokers: [broker], max_deliveries: 1 } }, queues };
}

const bare = (queue: string) => queue.replace("/queue/", "");
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const re = (text: string) => new RegExp(literally(text));

for (const [backend, settings] of backends) {
  describe(`autoreduce dlq on ${backend}: operators look at dead letters, send them back or discard them`, () => {
    let d: Deployment;
    let config: Config;
    let database: SqlDatabase;
    let transport: Transport;
    let close: () => Promise<void>;
    let DATA_READY = "";
    let DLQ = "";
    let ERRORS = "";
    const dlq = (...args: string[]) => cli(["dlq", ...args, "--config", d.configFile]);

    before(async () => {
      d = makeDeployment(settings());
      config = loadConfig(d.configFile);
      DATA_READY = config.queues.data_ready;
      DLQ = `/queue/DLQ.${bare(DATA_READY)}`;
      ERRORS = config.queues.postprocess_error;
      database = await openStateDatabase(config.database.url);
      ({ transport, close } = await openTransport(config, silentLogger(), database));
      // A DATA_READY whose handling fails once is dead-lettered (max_deliveries: 1).
      await transport.send(DATA_READY, { body: '{"run_number": 7}\nsecond line' });
      const sub = await transport.subscribe(DATA_READY, async () => {
        throw new Error("the database was down");
      });
      await waitFor(async () => (await transport.browse(DLQ, 10)).length === 1, "the dead letter", 30_000);
      await sub.unsubscribe();
      // A message refused as invalid goes to the error queue with its original.
      await sendToErrorQueue(
        transport,
        ERRORS,
        { body: '{"instrument": "X"}', destination: DATA_READY, id: "m-1" },
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
      assert.match(listed.stdout, re(`${DLQ}: 1 message`));
      assert.match(listed.stdout, re(`${ERRORS}: 1 message`));
      assert.match(listed.stdout, new RegExp(`${literally(DATA_READY)} .*last error: the database was down`));
      assert.match(listed.stdout, /run_number: required/);
      assert.match(listed.stdout, /\{"run_number": 7\}/);
      assert.doesNotMatch(listed.stdout, /second line/);
      assert.match(listed.stdout, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
      const status = await cli(["status", "--config", d.configFile]);
      assert.match(
        status.stdout,
        backend === "RabbitMQ"
          ? /Dead letters: \d+ queue\(s\) the broker cannot count/
          : re(`Dead letters: 1 in ${DLQ}, 1 in ${ERRORS}`),
      );
    });

    test("show prints one message with its headers and body", async () => {
      const [letter] = await transport.browse(DLQ, 10);
      const shown = await dlq("show", letter?.id ?? "?");
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /x-dead-letter-reason: .*the database was down/);
      assert.match(shown.stdout, re(`x-original-destination: ${DATA_READY}`));
      assert.match(shown.stdout, /body:\n\{"run_number": 7\}\nsecond line/);
      assert.equal((await dlq("show", "no-such-id")).code, 1);
    });

    test("discard without --yes only says what it would remove; a work queue is refused (exit 2)", async () => {
      const dry = await dlq("discard", "--all", bare(DLQ));
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /would remove 1 message[\s\S]*add --yes/);
      assert.equal((await transport.browse(DLQ, 10)).length, 1);
      const work = await dlq("discard", "--all", bare(DATA_READY), "--yes");
      assert.equal(work.code, 2);
      assert.match(work.stderr, /not a dead-letter queue/);
    });

    test("reinject sends a dead letter back to its queue and removes it; an error-queue message's original goes back", async () => {
      const [letter] = await transport.browse(DLQ, 10);
      const sent = await dlq("reinject", letter?.id ?? "?");
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout, re(`sent to ${DATA_READY}`));
      assert.deepEqual(await transport.browse(DLQ, 10), []);
      const back = await transport.browse(DATA_READY, 10);
      assert.deepEqual(
        back.map((m) => [m.body, m.headers["x-dead-letter-reason"]]),
        [['{"run_number": 7}\nsecond line', undefined]],
      );
      const all = await dlq("reinject", "--all", bare(ERRORS));
      assert.equal(all.code, 0, all.stderr);
      assert.deepEqual(
        (await transport.browse(DATA_READY, 10)).map((m) => m.body),
        ['{"run_number": 7}\nsecond line', '{"instrument": "X"}'],
      );
      assert.deepEqual(await transport.browse(ERRORS, 10), []);
    });

    test("reinject refuses a destination outside the configuration; discard --yes removes for good", async () => {
      await sendToErrorQueue(
        transport,
        ERRORS,
        { body: "not json", destination: "/queue/ELSEWHERE", id: "m-2" },
        "not JSON",
      );
      const refused = await dlq("reinject", "--all", bare(ERRORS));
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /ELSEWHERE, which is not a queue of this configuration/);
      assert.equal((await transport.browse(ERRORS, 10)).length, 1, "left where it was");
      const gone = await dlq("discard", "--all", bare(ERRORS), "--yes");
      assert.equal(gone.code, 0, gone.stderr);
      assert.match(gone.stdout, /removed 1 message/);
      assert.deepEqual(await transport.browse(ERRORS, 10), []);
    });
  });
}
