import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type BrokerAddress, formatBroker, parseBrokers } from "../../src/transport/stomp/broker-list.ts";

const a = (host: string, port: number): BrokerAddress => ({ host, port });

describe("parseBrokers", () => {
  const good: Array<[string, Parameters<typeof parseBrokers>[0], BrokerAddress[]]> = [
    [
      "SNS's failover URI, options ignored",
      "failover:(tcp://amqbroker1.sns.gov:61613,tcp://amqbroker2.sns.gov:61613)?randomize=false,startupMaxReconnectAttempts=100,initialReconnectDelay=1000,maxReconnectDelay=5000,maxReconnectAttempts=-1",
      [a("amqbroker1.sns.gov", 61613), a("amqbroker2.sns.gov", 61613)],
    ],
    ["a failover URI without options", "failover:(tcp://a:1,tcp://b:2)", [a("a", 1), a("b", 2)]],
    [
      "a failover URI without parentheses",
      "failover:tcp://a:1,tcp://b:2?randomize=false",
      [a("a", 1), a("b", 2)],
    ],
    ["a failover URI of one broker", "failover:(stomp://a:61613)", [a("a", 61613)]],
    ["stomp://host:port", "stomp://broker:61613", [a("broker", 61613)]],
    [
      "tcp://host:port with options",
      "tcp://broker:61614?wireFormat.maxInactivityDuration=0",
      [a("broker", 61614)],
    ],
    ["tcp://host:port/ with a slash", "tcp://broker:61614/", [a("broker", 61614)]],
    ["host:port", "127.0.0.1:61613", [a("127.0.0.1", 61613)]],
    ["a host alone takes the STOMP port", "broker", [a("broker", 61613)]],
    ["a bracketed IPv6 address", "stomp://[::1]:61613", [a("::1", 61613)]],
    ["a comma-separated list", "a:1, b:2", [a("a", 1), a("b", 2)]],
    ["surrounding blanks", "  stomp://a:1  ", [a("a", 1)]],
    [
      "a list of strings, in order",
      ["stomp://b:2", "a:1", "failover:(tcp://c:3)"],
      [a("b", 2), a("a", 1), a("c", 3)],
    ],
    [
      "[host, port] pairs",
      [
        ["a", 1],
        ["b", 2],
      ],
      [a("a", 1), a("b", 2)],
    ],
    ["upper-case schemes", "FAILOVER:(TCP://a:1)", [a("a", 1)]],
  ];
  for (const [name, input, expected] of good) {
    test(`reads ${name}`, () => {
      assert.deepEqual(parseBrokers(input), expected);
    });
  }

  const bad: Array<[string, Parameters<typeof parseBrokers>[0], RegExp]> = [
    ["an empty string", "", /no STOMP broker given/],
    ["an empty list", [], /no STOMP broker given/],
    ["TLS (ssl://)", "ssl://broker:61612", /"ssl:\/\/broker:61612": TLS is not supported yet/],
    ["TLS (stomp+ssl://)", "stomp+ssl://broker:61612", /TLS is not supported yet/],
    [
      "TLS inside a failover URI",
      "failover:(tcp://a:1,ssl://b:2)",
      /"ssl:\/\/b:2": TLS is not supported yet/,
    ],
    ["an unknown scheme", "http://broker:8161", /"http:\/\/broker:8161": unknown scheme "http:\/\/"/],
    ["a port that is not a number", "broker:stomp", /"broker:stomp": the port "stomp" is not a number/],
    ["a port out of range", "broker:70000", /"broker:70000".*from 1 to 65535/],
    ["port 0", "tcp://broker:0", /"tcp:\/\/broker:0".*from 1 to 65535/],
    ["no host", "stomp://:61613", /"stomp:\/\/:61613": no host/],
    ["an unclosed failover list", "failover:(tcp://a:1", /the "\(" of the failover URI is not closed/],
    ["junk after the failover list", "failover:(tcp://a:1)junk", /unexpected "junk" after the failover list/],
    ["an empty failover list", "failover:()", /the failover list is empty/],
    ["an empty entry in a list", "a:1,,b:2", /"a:1,,b:2": an empty entry/],
    ["an IPv6 address without brackets", "::1:61613", /write an IPv6 address in brackets/],
    ["a pair with a bad port", [["a", 1.5]], /invalid broker \["a",1.5\].*whole number/],
    ["a pair with an empty host", [["", 1]], /invalid broker \["",1\].*non-empty/],
  ];
  for (const [name, input, message] of bad) {
    test(`refuses ${name}, naming the entry`, () => {
      assert.throws(() => parseBrokers(input), message);
    });
  }

  test("formatBroker writes host:port, bracketing IPv6", () => {
    assert.equal(formatBroker(a("broker", 61613)), "broker:61613");
    assert.equal(formatBroker(a("::1", 61613)), "[::1]:61613");
  });
});
