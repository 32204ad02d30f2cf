import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenRefused } from "../../src/store/token-store.ts";
import { deadLetterReason } from "../../src/transport/dead-letter-reason.ts";
import { TransportUnavailableError } from "../../src/transport/transport.ts";

test("a refusal is dead-lettered at once; any other failure only after the last delivery", () => {
  const cases: Array<[string, unknown, number, string | null]> = [
    ["refused, first delivery", new TokenRefused("bad\nrole"), 1, "refused: bad role"],
    ["broker down, first delivery", new TransportUnavailableError("no broker"), 1, null],
    [
      "broker down, last delivery",
      new TransportUnavailableError("no broker"),
      3,
      "failed 3 deliveries; last error: no broker",
    ],
    ["a bug, before the last", new TypeError("x is undefined"), 2, null],
    ["not an Error, last delivery", "thrown text", 4, "failed 4 deliveries; last error: thrown text"],
  ];
  for (const [what, error, deliveries, expected] of cases)
    assert.equal(deadLetterReason(error, deliveries, 3), expected, what);
});
