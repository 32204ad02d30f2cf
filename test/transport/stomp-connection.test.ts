import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { freePort } from "../../scripts/services/process-tools.ts";
import { parseBrokers } from "../../src/transport/stomp/broker-list.ts";
import { StompTransport, type StompTransportOptions } from "../../src/transport/stomp/stomp-transport.ts";
import { TransportUnavailableError } from "../../src/transport/transport.ts";
import { sharedActiveMQ, sharedRabbitMQ } from "../helpers/brokers.ts";
import { TcpProxy } from "../helpers/tcp-proxy.ts";
import { waitFor } from "../helpers/wait-for.ts";

/** What a transport reported through its callbacks. */
interface Reports {
  errors: string[];
  changes: string[];
}

describe("STOMP connection handling", () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const open = async (options: StompTransportOptions): Promise<{ transport: StompTransport } & Reports> => {
    const reports: Reports = { errors: [], changes: [] };
    const transport = await StompTransport.open({
      reconnectInitialMs: 50,
      reconnectMaxMs: 200,
      onError: (e, context) => reports.errors.push(`${context}: ${String(e)}`),
      onConnectionChange: (state, detail) => reports.changes.push(`${state}: ${detail}`),
      ...options,
    });
    cleanups.push(() => transport.close());
    return { transport, ...reports };
  };
  const name = () => `/queue/CONN.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}`;

  test("with no broker up: open() and subscribe() resolve, a send times out, and all works once it is up", async () => {
    const [broker] = parseBrokers(sharedActiveMQ());
    assert.ok(broker);
    const port = await freePort();
    const t = await open({ brokers: [{ host: "127.0.0.1", port }], sendTimeoutMs: 300 });
    const q = name();
    const got: string[] = [];
    const sub = await t.transport.subscribe(q, async (m) => {
      got.push(m.body);
    });
    await assert.rejects(
      t.transport.send(q, { body: "too early" }),
      (e) =>
        e instanceof TransportUnavailableError &&
        e.message.includes(`no connection to a broker (127.0.0.1:${port})`) &&
        e.message.includes("ECONNREFUSED"),
    );
    assert.match(t.errors[0] ?? "", /cannot connect to 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    // The broker "comes up" on that port.
    const proxy = await TcpProxy.start(broker, port);
    cleanups.push(() => proxy.close());
    await waitFor(() => t.changes.length > 0, "the transport to connect");
    await t.transport.send(q, { body: "on time" });
    await waitFor(() => got.length === 1, "the subscription made while disconnected to work");
    await sub.unsubscribe();
    assert.deepEqual(got, ["on time"]);
    assert.match(t.changes[0] ?? "", /^connected: connected to 127\.0\.0\.1:\d+ \(ActiveMQ\/[\d.]+\)$/);
  });

  test("the brokers are tried in turn: a dead first one does not keep the transport from the second", async () => {
    const [broker] = parseBrokers(sharedActiveMQ());
    assert.ok(broker);
    const dead = { host: "127.0.0.1", port: await freePort() };
    const t = await open({ brokers: [dead, broker], sendTimeoutMs: 10_000 });
    await t.transport.send(name(), { body: "x" });
    assert.equal(t.changes.length, 1, t.changes.join("; "));
    assert.ok(
      t.changes[0]?.startsWith(`connected: connected to ${broker.host}:${broker.port} (ActiveMQ/`),
      t.changes[0],
    );
  });

  test("a connection that goes silent is noticed by the heart-beats and made again", async () => {
    const [broker] = parseBrokers(sharedActiveMQ());
    assert.ok(broker);
    const proxy = await TcpProxy.start(broker);
    cleanups.push(() => proxy.close());
    const t = await open({ brokers: [{ host: "127.0.0.1", port: proxy.port }], heartbeatMs: 200 });
    const q = name();
    const got: string[] = [];
    await t.transport.subscribe(q, async (m) => {
      got.push(m.body);
    });
    await t.transport.send(q, { body: "before" });
    await waitFor(() => got.length === 1, "the first message");
    proxy.freeze();
    await waitFor(
      () => t.changes.some((c) => /^disconnected: .*no heart-beat/.test(c)),
      "the silence noticed",
      5000,
    );
    await t.transport.send(q, { body: "after" });
    await waitFor(() => got.includes("after"), "a message on the new connection", 30_000).catch(
      (e: Error) => {
        throw new Error(
          `${e.message}; received: ${got.join(", ")}; connection changes: ${t.changes.join(" | ")}; errors: ${t.errors.join(" | ")}`,
        );
      },
    );
    // "before" may come a second time: when the freeze cut off its acknowledgement, the broker
    // gives it again once it drops the old connection (at-least-once, as the Transport promises).
    assert.equal(got[0], "before");
    assert.deepEqual([...new Set(got)].sort(), ["after", "before"]);
  });

  test("a refused login is reported, and the password appears nowhere", async () => {
    const [broker] = parseBrokers(sharedRabbitMQ());
    assert.ok(broker);
    const passcode = "s3cret-Pa55word";
    const t = await open({ brokers: [broker], login: "guest", passcode, sendTimeoutMs: 500 });
    const error = await t.transport.send(name(), { body: "x" }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof TransportUnavailableError, String(error));
    assert.match(error.message, /refused the connection/);
    assert.match(t.errors.join("\n"), /refused the connection/);
    for (const text of [error.message, error.stack ?? "", ...t.errors, ...t.changes])
      assert.ok(!text.includes(passcode), `the password leaked into: ${text}`);
  });

  test("depth over RabbitMQ says it is not available, as a TransportUnavailableError", async () => {
    const [broker] = parseBrokers(sharedRabbitMQ());
    assert.ok(broker);
    const t = await open({ brokers: [broker] });
    await assert.rejects(
      t.transport.depth(name()),
      (e) =>
        e instanceof TransportUnavailableError &&
        /not available over RabbitMQ's STOMP plugin/.test(e.message),
    );
  });
});
