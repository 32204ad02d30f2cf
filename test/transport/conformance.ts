import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { IncomingMessage, Transport } from "../../src/transport/transport.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { openSpec, type TransportSpec } from "./fixtures/transport-spec.ts";

const fixtures = join(import.meta.dirname, "fixtures");
const tsx = ["--import", "tsx"];

/**
 * The behaviour every Transport adapter must have. Each backend's test file calls this with a
 * way to make a fresh spec (its own database or broker namespace).
 * Documented differences between backends: none for the embedded adapter on SQLite and PostgreSQL.
 */
export function transportConformance(
  name: string,
  makeSpec: () => Promise<{ spec: TransportSpec; drop: () => Promise<void> }>,
) {
  describe(`Transport conformance: ${name}`, () => {
    let spec: TransportSpec;
    let drop: () => Promise<void>;
    const opened: Array<() => Promise<void>> = [];
    let queueNo = 0;
    const queue = () => `/queue/TEST.${process.pid}.${++queueNo}`;
    const open = async (overrides: Partial<TransportSpec> = {}): Promise<Transport> => {
      const { transport, close } = await openSpec({ ...spec, ...overrides });
      opened.push(close);
      return transport;
    };

    before(async () => {
      ({ spec, drop } = await makeSpec());
    });
    after(async () => {
      for (const close of opened.reverse()) await close();
      await drop();
    });

    test("messages of one queue arrive in the order they were sent", async () => {
      const t = await open();
      const q = queue();
      for (let i = 0; i < 20; i++) await t.send(q, { body: String(i) });
      const got: string[] = [];
      const sub = await t.subscribe(q, async (m) => {
        got.push(m.body);
      });
      await waitFor(() => got.length === 20, "20 messages");
      await sub.unsubscribe();
      assert.deepEqual(
        got,
        Array.from({ length: 20 }, (_, i) => String(i)),
      );
    });

    test("an acknowledged message is not delivered again; depth counts waiting messages", async () => {
      const t = await open();
      const q = queue();
      await t.send(q, { body: "a" });
      await t.send(q, { body: "b" });
      assert.equal(await t.depth(q), 2);
      const got: IncomingMessage[] = [];
      const sub = await t.subscribe(q, async (m) => {
        got.push(m);
      });
      await waitFor(() => got.length === 2, "two messages");
      await waitFor(async () => (await t.depth(q)) === 0, "queue drained");
      await sub.unsubscribe();
      const again: string[] = [];
      const sub2 = await t.subscribe(q, async (m) => {
        again.push(m.body);
      });
      await t.send(q, { body: "c" });
      await waitFor(() => again.length === 1, "the new message");
      await sub2.unsubscribe();
      assert.deepEqual(again, ["c"]);
      assert.equal(got[0]?.deliveryCount, 1);
    });

    test("a message whose handler fails is delivered again with the same id and a higher count", async () => {
      const t = await open();
      const q = queue();
      await t.send(q, { body: "x", headers: { "x-run": "7" } });
      const seen: IncomingMessage[] = [];
      const sub = await t.subscribe(
        q,
        async (m) => {
          seen.push(m);
          if (seen.length === 1) throw new Error("first try fails");
        },
        { retryDelayMs: () => 0 },
      );
      await waitFor(() => seen.length === 2, "redelivery");
      await sub.unsubscribe();
      assert.equal(seen[0]?.id, seen[1]?.id);
      assert.equal(seen[1]?.deliveryCount, 2);
      assert.equal(seen[1]?.headers["x-run"], "7");
    });

    test("a message held by a consumer that dies comes back to another consumer", async () => {
      const q = queue();
      const t = await open();
      await t.send(q, { body: "survivor" });
      const child = spawn(process.execPath, [
        ...tsx,
        join(fixtures, "claim-and-hang.ts"),
        JSON.stringify({ ...spec, leaseMs: 600 }),
        q,
      ]);
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      await waitFor(() => out.includes("claimed survivor"), "child to claim the message");
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const got: IncomingMessage[] = [];
      const sub = await t.subscribe(q, async (m) => {
        got.push(m);
      });
      await waitFor(() => got.length === 1, "the message after the lease expired");
      await sub.unsubscribe();
      assert.equal(got[0]?.body, "survivor");
      assert.equal(got[0]?.deliveryCount, 2);
    });

    test("a message sent by another process is received promptly", async () => {
      const t = await open();
      const q = queue();
      const got: string[] = [];
      const sub = await t.subscribe(q, async (m) => {
        got.push(m.body);
      });
      await promisify(execFile)(process.execPath, [
        ...tsx,
        join(fixtures, "send-one.ts"),
        JSON.stringify(spec),
        q,
        "from-afar",
      ]);
      const sentAt = Date.now();
      await waitFor(() => got.length === 1, "the message from the other process", 5000, 5);
      const latency = Date.now() - sentAt;
      await sub.unsubscribe();
      assert.equal(got[0], "from-afar");
      assert.ok(latency < 1000, `arrived after ${latency} ms`);
    });

    test("a delayed message arrives after its delay, not before", async () => {
      const t = await open();
      const q = queue();
      let arrived = 0;
      const sub = await t.subscribe(q, async () => {
        arrived = Date.now();
      });
      const sent = Date.now();
      await t.send(q, { body: "later", delayMs: 1200 });
      await waitFor(() => arrived > 0, "the delayed message", 5000);
      await sub.unsubscribe();
      const waited = arrived - sent;
      assert.ok(waited >= 1200 && waited < 2200, `arrived after ${waited} ms`);
    });

    test("a message that keeps failing goes to the dead-letter queue with the reason", async () => {
      const t = await open({ maxDeliveries: 3 });
      const q = queue();
      await t.send(q, { body: "poison" });
      let tries = 0;
      const sub = await t.subscribe(
        q,
        async () => {
          tries++;
          throw new Error("always fails");
        },
        { retryDelayMs: () => 0 },
      );
      const dlq = `/queue/DLQ.${q.slice("/queue/".length)}`;
      const dead: IncomingMessage[] = [];
      const dsub = await t.subscribe(dlq, async (m) => {
        dead.push(m);
      });
      await waitFor(() => dead.length === 1, "the dead letter");
      await sub.unsubscribe();
      await dsub.unsubscribe();
      assert.equal(tries, 3);
      assert.equal(dead[0]?.body, "poison");
      assert.match(dead[0]?.headers["x-dead-letter-reason"] ?? "", /3 deliveries/);
    });

    test("prefetch bounds how many messages one subscription handles at once", async () => {
      const t = await open();
      const q = queue();
      for (let i = 0; i < 6; i++) await t.send(q, { body: String(i) });
      let now = 0;
      let peak = 0;
      let done = 0;
      const sub = await t.subscribe(
        q,
        async () => {
          now++;
          peak = Math.max(peak, now);
          await new Promise((r) => setTimeout(r, 60));
          now--;
          done++;
        },
        { prefetch: 2 },
      );
      await waitFor(() => done === 6, "six handled");
      await sub.unsubscribe();
      assert.equal(peak, 2);
    });

    test("a topic message reaches every current subscriber, and not later ones", async () => {
      const t1 = await open();
      const t2 = await open();
      const topic = `/topic/TEST.${process.pid}.${++queueNo}`;
      await t1.send(topic, { body: "before" });
      const a: string[] = [];
      const b: string[] = [];
      const sa = await t1.subscribe(topic, async (m) => {
        a.push(m.body);
      });
      const sb = await t2.subscribe(topic, async (m) => {
        b.push(m.body);
      });
      await t1.send(topic, { body: "hello" });
      await waitFor(() => a.length === 1 && b.length === 1, "both subscribers");
      await sa.unsubscribe();
      await sb.unsubscribe();
      assert.deepEqual([a, b], [["hello"], ["hello"]]);
    });
  });
}
