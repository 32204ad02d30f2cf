// Which CLI commands touch the broker: one that only reads the database never connects (with the
// STOMP transport it used to wait ~10 s for a connection it did not need), and one that sends
// closes its connection without calling that a warning.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isolatedQueues, sharedActiveMQ } from "../helpers/brokers.ts";
import { cli, makeDeployment } from "../helpers/deployment.ts";

/** A TCP listener standing in for a broker: it counts the connections made to it. */
let fakeBroker: Server;
let connections = 0;

before(async () => {
  fakeBroker = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => fakeBroker.listen(0, "127.0.0.1", resolve));
});
after(() => new Promise<void>((resolve) => fakeBroker.close(() => resolve())));

function fakeBrokerAddress(): string {
  const address = fakeBroker.address();
  if (address === null || typeof address === "string") throw new Error("the listener has no port");
  return `127.0.0.1:${address.port}`;
}

for (const command of [["runs"], ["jobs"], ["vars", "history", "TEST"]]) {
  test(`autoreduce ${command.join(" ")} reads the database without connecting to the STOMP broker`, async () => {
    const d = makeDeployment({
      instruments: { TEST: {} },
      transport: { kind: "stomp", stomp: { brokers: [fakeBrokerAddress()] } },
    });
    try {
      const before = connections;
      const result = await cli([...command, "--config", d.configFile]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(connections - before, 0, "the command connected to the broker");
      assert.equal(result.stderr, "", "a read-only command warns about nothing");
    } finally {
      d.cleanup();
    }
  });
}

test("autoreduce submit over ActiveMQ sends, closes its connection and warns about nothing", async () => {
  const d = makeDeployment({
    instruments: { TEST: {} },
    transport: { kind: "stomp", stomp: { brokers: [sharedActiveMQ()] } },
    queues: isolatedQueues(`SUBMIT${process.pid}`),
  });
  try {
    const file = join(d.archive, "TEST", "IPTS-1", "nexus", "TEST_3.nxs.h5");
    await d.writeRun("TEST", 3, "IPTS-1");
    const result = await cli(["submit", "--config", d.configFile, "--file", file]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /"run_number": ?3/);
    assert.doesNotMatch(result.stderr, /broker|WARN|warn/i, "a clean close is no warning");
    const status = await cli(["status", "--config", d.configFile, "--json"]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).queues[`/queue/TSUBMIT${process.pid}.DATA_READY`], 1);
  } finally {
    d.cleanup();
  }
});
