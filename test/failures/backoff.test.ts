import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "../../src/failures/backoff.ts";
import { announceRetryDelayMs } from "../../src/listener/archive-listener.ts";
import { defaultRetryDelayMs } from "../../src/transport/transport.ts";

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

test("the retries of the system keep their numbers through the one formula", () => {
  const cases: Array<[string, (attempt: number) => number, number[]]> = [
    ["message redelivery (1 s to 60 s)", defaultRetryDelayMs, [1000, 1000, 2000, 4000, 60_000]],
    ["announcing a file again (250 ms to 30 s)", announceRetryDelayMs, [250, 250, 500, 1000, 30_000]],
  ];
  for (const [what, delay, expected] of cases) assert.deepEqual([0, 1, 2, 3, 20].map(delay), expected, what);
});
