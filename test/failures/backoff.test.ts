import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "../../src/failures/backoff.ts";

test("backoff doubles from the initial delay and stops at the cap", () => {
  const policy = { initialMs: 250, maxMs: 30_000 };
  const cases: Array<[number, number]> = [
    [0, 250],
    [1, 250],
    [2, 500],
    [3, 1000],
    [8, 30_000],
    [1_000_000, 30_000],
  ];
  for (const [attempt, expected] of cases)
    assert.equal(backoffDelay(policy, attempt), expected, `attempt ${attempt}`);
});

test("backoff honours another growth factor", () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((a) => backoffDelay({ initialMs: 100, maxMs: 1000, factor: 3 }, a)),
    [100, 300, 900, 1000],
  );
});
