import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { routeDelayed } from "../../src/transport/stomp/delayed-delivery.ts";
import { prefetchHeaders, resolveFlavour } from "../../src/transport/stomp/flavour.ts";
import {
  checkOutgoingHeaders,
  deliveryCountOf,
  messageIdOf,
  userHeaders,
} from "../../src/transport/stomp/message-headers.ts";
import { parseStatisticsMap } from "../../src/transport/stomp/queue-depth.ts";

describe("STOMP headers", () => {
  test("a handler sees the sender's headers, not the broker's or ours", () => {
    const delivered = {
      "message-id": "T_sub-0@@session-1@@1",
      destination: "/queue/X",
      subscription: "autoreduce-queue-1",
      ack: "T_sub-0@@session-1@@1",
      redelivered: "false",
      persistent: "true",
      "content-length": "2",
      transaction: "tx-1",
      "x-first-death-reason": "expired",
      "x-first-death-queue": "X.delay.1000",
      "x-dead-letter-routing-key": "X",
      "x-expires": "60000",
      "x-autoreduce-id": "id-1",
      "x-autoreduce-deliveries": "2",
      "x-run": "7",
      "reply-to": "/queue/Y",
      "x-dead-letter-reason": "failed 5 deliveries",
    };
    assert.deepEqual(userHeaders(delivered), {
      "x-run": "7",
      "reply-to": "/queue/Y",
      "x-dead-letter-reason": "failed 5 deliveries",
    });
  });

  test("the delivery count adds the failed deliveries and the broker's redelivered flag", () => {
    assert.equal(deliveryCountOf({}), 1);
    assert.equal(deliveryCountOf({ redelivered: "false" }), 1);
    assert.equal(deliveryCountOf({ redelivered: "true" }), 2);
    assert.equal(deliveryCountOf({ "x-autoreduce-deliveries": "2" }), 3);
    assert.equal(deliveryCountOf({ "x-autoreduce-deliveries": "2", redelivered: "true" }), 4);
    assert.equal(deliveryCountOf({ "x-autoreduce-deliveries": "junk" }), 1);
  });

  test("the id is ours, else the caller's x-message-id, else the broker's", () => {
    assert.equal(messageIdOf({ "x-autoreduce-id": "ours", "message-id": "broker" }), "ours");
    assert.equal(messageIdOf({ "x-message-id": "caller", "message-id": "broker" }), "caller");
    assert.equal(messageIdOf({ "message-id": "ID:broker-1" }), "ID:broker-1");
  });

  test("headers that would change the frame are refused", () => {
    assert.doesNotThrow(() => checkOutgoingHeaders({ "x-run": "a:b\nc", "reply-to": "/queue/Y" }));
    assert.throws(
      () => checkOutgoingHeaders({ destination: "/queue/Z" }),
      /"destination" is set by the transport/,
    );
    assert.throws(() => checkOutgoingHeaders({ "x-autoreduce-id": "x" }), /set by the transport/);
    assert.throws(() => checkOutgoingHeaders({ "a:b": "x" }), /header name "a:b" cannot be sent/);
    assert.throws(() => checkOutgoingHeaders({ "a\nb": "x" }), /cannot be sent over STOMP/);
  });
});

test("header values are made sendable: control characters become spaces, long values are cut", () => {
  const sent = checkOutgoingHeaders({ "x-error-reason": "a\u0000b\nc\td", "x-long": "y".repeat(5000) });
  assert.equal(sent["x-error-reason"], "a b c d");
  assert.equal(sent["x-long"]?.length, 1000);
  assert.ok(sent["x-long"]?.endsWith("…"));
});

describe("delayed delivery", () => {
  test("ActiveMQ: the scheduler header on the queue itself", () => {
    assert.deepEqual(routeDelayed("activemq", "/queue/A.B", 1500), {
      destination: "/queue/A.B",
      headers: { AMQ_SCHEDULED_DELAY: "1500" },
    });
  });

  test("RabbitMQ: a parking queue per delay, dead-lettering into the queue", () => {
    assert.deepEqual(routeDelayed("rabbitmq", "/queue/A.B", 1200), {
      destination: "/queue/A.B.delay.1200",
      headers: {
        expiration: "1200",
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "A.B",
        "x-expires": "60000",
      },
    });
    // Rounded up (never early), and an idle queue lives at least twice its delay.
    const long = routeDelayed("rabbitmq", "/queue/A", 3_600_001);
    assert.equal(long.destination, "/queue/A.delay.3600100");
    assert.equal(long.headers.expiration, "3600100");
    assert.equal(long.headers["x-expires"], "7200200");
  });

  test("the queue arguments depend on the parking queue's name only", () => {
    assert.deepEqual(routeDelayed("rabbitmq", "/queue/A", 1101), routeDelayed("rabbitmq", "/queue/A", 1200));
  });

  test("no delay: the queue itself, no headers", () => {
    for (const flavour of ["activemq", "rabbitmq"] as const) {
      assert.deepEqual(routeDelayed(flavour, "/queue/A", 0), { destination: "/queue/A", headers: {} });
    }
  });
});

describe("broker flavour", () => {
  test("auto reads the server header; a configured flavour wins", () => {
    assert.equal(resolveFlavour("auto", "ActiveMQ/5.17.2").flavour, "activemq");
    assert.equal(resolveFlavour("auto", "ActiveMQ-Artemis/2.31.2").flavour, "activemq");
    assert.equal(resolveFlavour("auto", "RabbitMQ/3.10.8").flavour, "rabbitmq");
    assert.equal(resolveFlavour("rabbitmq", "ActiveMQ/5.17.2").flavour, "rabbitmq");
    assert.equal(resolveFlavour("auto", "ActiveMQ/5.17.2").note, undefined);
  });

  test("an unknown server is treated as ActiveMQ, with a note saying so", () => {
    const { flavour, note } = resolveFlavour("auto", "Apollo/1.7");
    assert.equal(flavour, "activemq");
    assert.match(note ?? "", /unknown broker "Apollo\/1.7".*transport\.stomp\.flavour/);
  });

  test("prefetch is each broker's own header", () => {
    assert.deepEqual(prefetchHeaders("activemq", 2), { "activemq.prefetchSize": "2" });
    assert.deepEqual(prefetchHeaders("rabbitmq", 2), { "prefetch-count": "2" });
  });
});

describe("ActiveMQ statistics", () => {
  test("XStream's JSON of a MapMessage is read into a plain map", () => {
    const body =
      '{"map":{"entry":[{"string":"size","long":3},{"string":["destinationName","queue:\\/\\/X"]},{"string":"inflightCount","long":1},{"string":"averageEnqueueTime","double":0.5}]}}';
    assert.deepEqual(parseStatisticsMap(body), {
      size: 3,
      destinationName: "queue://X",
      inflightCount: 1,
      averageEnqueueTime: 0.5,
    });
  });

  test("the end-of-list message and junk read as empty", () => {
    assert.deepEqual(parseStatisticsMap('{"map":""}'), {});
    assert.deepEqual(parseStatisticsMap("not json"), {});
  });
});
