import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { InvalidMessageError } from "../../src/messages/message-error.ts";
import {
  type IncomingMessage,
  type Transport,
  TransportUnavailableError,
} from "../../src/transport/transport.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { cuttableSpec, openSpec, type SpecOverrides, type TransportSpec } from "./fixtures/transport-spec.ts";

const fixtures = join(import.meta.dirname, "fixtures");
const tsx = ["--import", "tsx"];

/**
 * Where backends differ. Each difference is a property of the backend that the suite states
 * here and checks per backend (through `BackendTraits`), rather than an assertion left out.
 */
export interface BackendTraits {
  /**
   * depth() answers. False for RabbitMQ: its STOMP plugin has no frame that reports a queue's
   * length, so depth() throws TransportUnavailableError saying so (callers show "unknown").
   */
  depth: boolean;
  /**
   * The suite can cut the transport's connection (STOMP: through a TCP proxy). False for the
   * embedded transport, which has no network connection of its own to cut: SQLite is a local
   * file, and PostgreSQL is reached through the state database's pool, whose outages are the
   * database's tests (test/e2e/facility.test.ts restarts PostgreSQL under a running coordinator).
   */
  cutConnection: boolean;
}

/** The embedded transport, on SQLite or PostgreSQL. */
export const EMBEDDED_TRAITS: BackendTraits = { depth: true, cutConnection: false };

/**
 * The behaviour every Transport adapter must have. Each backend's test file calls this with a
 * way to make a fresh spec (its own database or broker namespace) and its traits.
 *
 * Documented differences between backends (none between the embedded adapter on SQLite and on
 * PostgreSQL):
 * - depth(): embedded counts every message not held by a consumer, delayed ones included.
 *   ActiveMQ leaves delayed messages in its scheduler until due (not counted); it reads the
 *   depth from the statistics plugin (exact: size minus in-flight), or, if the broker cannot send
 *   its statistics over STOMP (no XStream on its classpath), by browsing the queue, which also
 *   counts messages delivered to a consumer and not yet acknowledged. RabbitMQ: not available
 *   (`BackendTraits.depth`).
 * - A consumer that dies: embedded gives its message to another consumer when the lease
 *   (`leaseMs`) expires; a broker does so as soon as it notices the closed connection.
 * - A message whose handler failed: embedded keeps it in its place in the queue until its retry
 *   delay has passed; over STOMP it is re-sent as a copy (same id) and so joins the back of the
 *   queue, and the original acknowledged, in one transaction.
 * - Delivery counts: embedded counts every claim. Over STOMP the failed deliveries are counted
 *   in a header of the re-sent copy, and a delivery cut short (consumer died, connection lost,
 *   subscription stopped with the message not yet started) shows only as the broker's
 *   `redelivered` flag, which adds 1 however often it happened.
 * - Delays: never early anywhere; how late varies. Embedded: up to its poll interval. ActiveMQ's
 *   scheduler (`AMQ_SCHEDULED_DELAY`): up to about 0.5 s (measured on 5.17.2). RabbitMQ parks the
 *   message in `<NAME>.delay.<ms>` until its TTL dead-letters it into `<NAME>` (a few ms late);
 *   the delay is rounded up to 100 ms, and the message is dropped if `<NAME>` does not exist by
 *   then (nobody ever sent to it or subscribed to it).
 * - Connection loss (STOMP only, `BackendTraits.cutConnection`): subscriptions are made again on
 *   the new connection; messages being handled when it dropped are delivered again. A topic
 *   subscriber misses what is published while its connection is being made again (the embedded
 *   transport has no such gap).
 */
export function transportConformance(
  name: string,
  makeSpec: () => Promise<{ spec: TransportSpec; drop: () => Promise<void> }>,
  traits: BackendTraits = EMBEDDED_TRAITS,
) {
  describe(`Transport conformance: ${name}`, () => {
    let spec: TransportSpec;
    let drop: () => Promise<void>;
    const opened: Array<() => Promise<void>> = [];
    let queueNo = 0;
    // The run's own names: a broker outlives test runs, and pids are reused.
    const run = `${process.pid}.${Date.now().toString(36)}`;
    const queue = () => `/queue/TEST.${run}.${++queueNo}`;
    const open = async (overrides: SpecOverrides = {}, base: TransportSpec = spec): Promise<Transport> => {
      const { transport, close } = await openSpec({ ...base, ...overrides });
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
      if (traits.depth) assert.equal(await t.depth(q), 2);
      else
        await assert.rejects(
          t.depth(q),
          (e) => e instanceof TransportUnavailableError && /depth/.test(e.message),
        );
      const got: IncomingMessage[] = [];
      const sub = await t.subscribe(q, async (m) => {
        got.push(m);
      });
      await waitFor(() => got.length === 2, "two messages");
      if (traits.depth) await waitFor(async () => (await t.depth(q)) === 0, "queue drained");
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
      // How fast is measured by `npm run bench`; here only that it arrives.
      await waitFor(() => got.length === 1, "the message from the other process", 5000, 5);
      await sub.unsubscribe();
      assert.equal(got[0], "from-afar");
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
      // "Not before" is the contract; how late depends on the machine's load (ActiveMQ's scheduler
      // runs on a loaded JVM here), so the upper bound only catches a delay that was ignored badly.
      await waitFor(() => arrived > 0, "the delayed message", 30_000);
      await sub.unsubscribe();
      const waited = arrived - sent;
      assert.ok(waited >= 1200 && waited < 20_000, `arrived after ${waited} ms`);
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
      assert.equal(dead[0]?.headers["x-original-destination"], q);
    });

    test("a message its handler refuses (bad input) goes to the dead-letter queue at once, with the reason", async () => {
      const t = await open({ maxDeliveries: 5 });
      const q = queue();
      await t.send(q, { body: "not a job" });
      let tries = 0;
      const sub = await t.subscribe(
        q,
        async () => {
          tries++;
          throw new InvalidMessageError("run_number: expected number");
        },
        { retryDelayMs: () => 0 },
      );
      const dlq = `/queue/DLQ.${q.slice("/queue/".length)}`;
      const [letter] = await waitFor(async () => {
        const letters = await t.browse(dlq, 10);
        return letters.length > 0 ? letters : null;
      }, "the dead letter in its queue");
      await sub.unsubscribe();
      assert.equal(tries, 1, "not delivered again");
      assert.equal(letter?.body, "not a job");
      assert.equal(letter?.headers["x-dead-letter-reason"], "refused: run_number: expected number");
    });

    test("browse shows waiting messages oldest first and takes none; take removes one by its id", async () => {
      const t = await open();
      const q = queue();
      for (let i = 0; i < 4; i++) await t.send(q, { body: `m${i}`, headers: { "x-note": `n${i}` } });
      const seen = await t.browse(q, 100);
      assert.deepEqual(
        seen.map((m) => [m.body, m.headers["x-note"], m.destination]),
        [0, 1, 2, 3].map((i) => [`m${i}`, `n${i}`, q]),
      );
      assert.equal(new Set(seen.map((m) => m.id)).size, 4, "each message has its own id");
      assert.deepEqual(
        (await t.browse(q, 2)).map((m) => m.body),
        ["m0", "m1"],
        "a limit keeps the oldest",
      );
      const taken = await t.take(q, seen[1]?.id ?? "");
      assert.equal(taken?.body, "m1");
      assert.equal(await t.take(q, seen[1]?.id ?? ""), null, "a message is taken once");
      assert.equal(await t.take(q, "no-such-message"), null);
      assert.deepEqual(
        (await t.browse(q, 100)).map((m) => m.body),
        ["m0", "m2", "m3"],
      );
      const got: string[] = [];
      const sub = await t.subscribe(q, async (m) => {
        got.push(m.body);
      });
      await waitFor(() => got.length === 3, "the three messages left");
      await sub.unsubscribe();
      assert.deepEqual(got, ["m0", "m2", "m3"]);
      assert.deepEqual(await t.browse(q, 100), [], "an emptied queue browses empty");
    });

    test("a dead letter can be browsed and taken from its queue", async () => {
      const t = await open({ maxDeliveries: 1 });
      const q = queue();
      const dlq = `/queue/DLQ.${q.slice("/queue/".length)}`;
      await t.send(q, { body: "bad", headers: { "x-note": "kept" } });
      const sub = await t.subscribe(q, async () => {
        throw new Error("refused");
      });
      const [letter] = await waitFor(async () => {
        const letters = await t.browse(dlq, 10);
        return letters.length > 0 ? letters : null;
      }, "the dead letter in its queue");
      await sub.unsubscribe();
      assert.equal(letter?.body, "bad");
      assert.equal(letter?.headers["x-note"], "kept");
      assert.equal(letter?.headers["x-original-destination"], q);
      assert.match(letter?.headers["x-dead-letter-reason"] ?? "", /failed 1 deliveries; last error: refused/);
      assert.ok(letter?.enqueuedAt && Math.abs(letter.enqueuedAt - Date.now()) < 600_000, "when it arrived");
      assert.equal((await t.take(dlq, letter?.id ?? ""))?.body, "bad");
      assert.deepEqual(await t.browse(dlq, 10), []);
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
      const topic = `/topic/TEST.${run}.${++queueNo}`;
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

    if (traits.cutConnection)
      test("a cut connection is made again, with its subscription; nothing is lost", async () => {
        const link = await cuttableSpec(spec);
        opened.push(link.close); // closed after the transports opened below
        const consumer = await open({}, link.spec);
        const producer = await open();
        const q = queue();
        const seen = new Map<string, number>();
        // One handler is held until the transport has reconnected: it is running at the cut, and
        // finishes on the new connection, where it must not acknowledge its message.
        let holding = false;
        let release: () => void = () => {};
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        const sub = await consumer.subscribe(
          q,
          async (m) => {
            if (m.body === "before-3") {
              holding = true;
              await gate;
            }
            seen.set(m.body, (seen.get(m.body) ?? 0) + 1);
          },
          { prefetch: 2 },
        );
        const bodies = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}-${i}`);
        for (const body of bodies("before")) await producer.send(q, { body });
        await waitFor(() => holding, "a handler running");
        const connectionsBefore = link.connections();
        link.cut();
        await waitFor(
          () => link.connections() > connectionsBefore,
          "the transport to connect again by itself",
        );
        // Through the cut transport: each send waits for the new session if need be.
        for (const body of bodies("after")) await consumer.send(q, { body });
        release();
        for (const body of bodies("direct")) await producer.send(q, { body });
        const expected = [...bodies("before"), ...bodies("after"), ...bodies("direct")];
        await waitFor(() => expected.every((body) => seen.has(body)), "every message, after the cut");
        await waitFor(() => (seen.get("before-3") ?? 0) >= 2, "the message being handled at the cut, again");
        await sub.unsubscribe();
        assert.deepEqual([...seen.keys()].sort(), [...expected].sort());
      });
  });
}
