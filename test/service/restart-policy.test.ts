import assert from "node:assert/strict";
import { test } from "node:test";
import { type RestartDecision, restartDecision } from "../../src/service/restart-policy.ts";

const policy = { maxFailures: 3, windowMs: 60_000, initialDelayMs: 1000, maxDelayMs: 5000 };
const now = 1_000_000;

const cases: Array<[failures: number[], expected: RestartDecision, why: string]> = [
  [[now], { restart: true, delayMs: 1000 }, "a first failure: the initial delay"],
  [[now - 5000, now], { restart: true, delayMs: 2000 }, "a second failure in the window: doubled"],
  [[now - 9000, now - 5000, now], { restart: false, failures: 3 }, "max_failures in the window: given up"],
  [
    [now - 120_000, now - 90_000, now],
    { restart: true, delayMs: 1000 },
    "failures older than the window are forgotten",
  ],
  [
    [now - 60_000, now - 1, now],
    { restart: false, failures: 3 },
    "a failure exactly window old still counts",
  ],
];

for (const [failures, expected, why] of cases) {
  test(`restart decision after ${failures.length} failure(s): ${why}`, () => {
    assert.deepEqual(restartDecision(failures, now, policy), expected);
  });
}

test("the delay doubles up to the longest wait", () => {
  const many = { ...policy, maxFailures: 100 };
  const delays = [1, 2, 3, 4, 5].map((n) => {
    const d = restartDecision(
      Array.from({ length: n }, (_, i) => now - i),
      now,
      many,
    );
    return d.restart ? d.delayMs : null;
  });
  assert.deepEqual(delays, [1000, 2000, 4000, 5000, 5000]);
});
