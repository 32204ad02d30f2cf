import assert from "node:assert/strict";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ActiveMQ } from "../../scripts/services/activemq.ts";
import { aptInstall } from "../../scripts/services/process-tools.ts";
import { StompTransport } from "../../src/transport/stomp/stomp-transport.ts";
import { privateActiveMQ } from "../helpers/brokers.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

/** XStream and Jettison: what ActiveMQ needs to send a MapMessage (its statistics) over STOMP. */
const XSTREAM_JARS = ["xstream.jar", "jettison.jar", "xpp3.jar"];

/**
 * Puts XStream on the classpath of the broker that will live in `dir` (ActiveMQ adds
 * `<activemq.base>/lib` to it). Debian's `activemq` package lacks it, and without it the broker
 * drops a connection rather than send it the statistics plugin's answer.
 */
function giveXStream(brokerDir: string): void {
  const missing = XSTREAM_JARS.filter((jar) => !existsSync(join("/usr/share/java", jar)));
  if (missing.length > 0) aptInstall(["libxstream-java", "libjettison-java"]);
  const lib = join(brokerDir, "lib");
  mkdirSync(lib, { recursive: true });
  for (const jar of XSTREAM_JARS) symlinkSync(join("/usr/share/java", jar), join(lib, jar));
}

describe("STOMP on an ActiveMQ of the test's own", () => {
  const scratch = tempDir();
  let broker: ActiveMQ;
  const opened: StompTransport[] = [];
  const open = async (
    onConnectionChange: (state: string) => void = () => {},
    onError: (error: unknown, context: string) => void = () => {},
  ) => {
    const transport = await StompTransport.open({
      brokers: [{ host: "127.0.0.1", port: broker.port }],
      reconnectInitialMs: 100,
      reconnectMaxMs: 500,
      sendTimeoutMs: 60_000,
      onError,
      onConnectionChange,
    });
    opened.push(transport);
    return transport;
  };

  before(async () => {
    giveXStream(join(scratch.path, "activemq"));
    broker = await privateActiveMQ(scratch.path);
  });
  after(async () => {
    for (const transport of opened) await transport.close();
    await broker.stop();
    scratch.cleanup();
  });

  test("depth from the statistics plugin leaves out the message being handled", async () => {
    const errors: string[] = [];
    const t = await open(undefined, (e, context) => errors.push(`${context}: ${String(e)}`));
    const q = `/queue/STATS.${Date.now()}`;
    assert.equal(await t.depth(q), 0, "a queue the broker has never seen");
    for (const body of ["a", "b", "c"]) await t.send(q, { body });
    assert.equal(await t.depth(q), 3);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let handling = 0;
    const sub = await t.subscribe(q, async () => {
      handling++;
      await gate;
    });
    await waitFor(() => handling === 1, "one message being handled");
    // Browsing (the fallback) would count 3.
    assert.equal(await t.depth(q), 2);
    release();
    await waitFor(async () => (await t.depth(q)) === 0, "the queue drained");
    await sub.unsubscribe();
    assert.deepEqual(errors, []);
  });

  test("the broker SIGKILLed and restarted under a subscriber and a sender: every message arrives", async () => {
    const events: string[] = [];
    const consumer = await open((state) => events.push(`consumer ${state}`));
    const producer = await open((state) => events.push(`producer ${state}`));
    const q = `/queue/RESTART.${Date.now()}`;
    const got = new Set<string>();
    const sub = await consumer.subscribe(
      q,
      async (m) => {
        got.add(m.body);
      },
      { prefetch: 4 },
    );
    const sent: string[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        await producer.send(q, { body: String(i) });
        sent.push(String(i));
      }
    })();
    await waitFor(() => got.size >= 20, "messages flowing before the kill");
    broker.kill();
    await waitFor(
      () => events.includes("consumer disconnected") && events.includes("producer disconnected"),
      "both transports to notice",
    );
    const sentBeforeRestart = sent.length;
    await broker.start();
    await waitFor(() => sent.length >= sentBeforeRestart + 20, "sends after the restart", 60_000);
    sending = false;
    await sender;
    await waitFor(() => sent.every((body) => got.has(body)), "every message sent, before and after");
    await sub.unsubscribe();
    for (const who of ["consumer", "producer"])
      assert.deepEqual(
        events.filter((e) => e.startsWith(who)),
        [`${who} connected`, `${who} disconnected`, `${who} connected`],
        `${who} reconnected by itself`,
      );
  });
});
