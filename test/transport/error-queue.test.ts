import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MAX_COPIED_BODY_BYTES, sendToErrorQueue } from "../../src/transport/error-queue.ts";
import type { IncomingMessage, Transport } from "../../src/transport/transport.ts";
import { sharedActiveMQ } from "../helpers/brokers.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { openSpec, type TransportSpec } from "./fixtures/transport-spec.ts";

const scratch = tempDir();
after(() => scratch.cleanup());

const backends: Array<[string, () => TransportSpec]> = [
  [
    "the embedded transport (SQLite)",
    () => ({ kind: "embedded", url: `sqlite:${join(scratch.path, "q.db")}` }),
  ],
  ["STOMP on ActiveMQ", () => ({ kind: "stomp", brokers: sharedActiveMQ() })],
];

for (const [name, spec] of backends) {
  describe(`the error queue on ${name}`, () => {
    let transport: Transport;
    let close: () => Promise<void>;
    const run = `${process.pid}.${Date.now().toString(36)}`;
    let queueNo = 0;
    const queue = () => `/queue/TEST.ERRORS.${run}.${++queueNo}`;

    before(async () => {
      ({ transport, close } = await openSpec(spec()));
    });
    after(async () => {
      await close();
    });

    const receive = async (destination: string): Promise<IncomingMessage> => {
      const got: IncomingMessage[] = [];
      const sub = await transport.subscribe(destination, async (m) => {
        got.push(m);
      });
      try {
        return await waitFor(() => got[0], `a message on ${destination}`, 30_000);
      } finally {
        await sub.unsubscribe();
      }
    };

    test("a reason with a NUL, line breaks and tabs reaches the error queue; the body keeps it whole", async () => {
      const q = queue();
      const reason = "data_file: bad\u0000name\nsecond line\r\tend";
      await sendToErrorQueue(
        transport,
        q,
        { body: '{"run_number":3}', destination: "/queue/X", id: "m1" },
        reason,
      );
      const m = await receive(q);
      const body = JSON.parse(m.body);
      assert.equal(body.error, reason);
      assert.equal(body.run_number, 3);
      if (name.startsWith("STOMP")) {
        assert.equal(m.headers["x-error-reason"], "data_file: bad name second line  end");
      }
    });

    test("a 10 MB bad body is copied cut to 64 KiB, saying so in the body and a header", async () => {
      const q = queue();
      const big = JSON.stringify({ instrument: "TR", run_number: 3, junk: "x".repeat(10 * 1024 * 1024) });
      await sendToErrorQueue(transport, q, { body: big, destination: "/queue/X", id: "m2" }, "too big");
      const m = await receive(q);
      assert.ok(m.body.length < MAX_COPIED_BODY_BYTES + 4096, `error message of ${m.body.length} bytes`);
      const body = JSON.parse(m.body);
      assert.equal(body.original_body_truncated, true);
      assert.equal(body.original_body_bytes, Buffer.byteLength(big));
      assert.equal(body.original_body, big.slice(0, MAX_COPIED_BODY_BYTES));
      assert.equal(body.instrument, "TR", "short fields are still copied");
      assert.equal(body.junk, undefined);
      assert.equal(m.headers["x-original-body-truncated"], "true");
      assert.equal(m.headers["x-original-body-bytes"], String(Buffer.byteLength(big)));
    });

    test("a body that claims to be cut (forged truncation fields) reaches the error queue whole, the claim dropped", async () => {
      const q = queue();
      const original = JSON.stringify({
        run_number: 3,
        original_body_truncated: "yes",
        original_body_bytes: -1,
      });
      await sendToErrorQueue(transport, q, { body: original, destination: "/queue/X", id: "m3" }, "bad");
      const body = JSON.parse((await receive(q)).body);
      assert.equal(body.original_body, original);
      assert.equal(body.run_number, 3);
      assert.equal(body.original_body_truncated, undefined);
      assert.equal(body.original_body_bytes, undefined);
    });
  });
}
