import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { infrastructureFault, isDiskFullCode, planRetry } from "../../src/worker/retry-plan.ts";

const policy = { attempts: 4, initialMs: 30_000, maxMs: 90_000 };
const failure = (n: number) => ({
  at: new Date(Date.UTC(2026, 10, 21, 3, n)),
  host: "node1",
  problem: "output folder /out cannot be created or written (EACCES)",
});

test("retry delays double from the initial delay and stop growing at the cap", () => {
  const delays: number[] = [];
  let state: Parameters<typeof planRetry>[0];
  for (let n = 1; n < policy.attempts; n++) {
    const plan = planRetry(state, 1, failure(n), policy);
    assert.equal(plan.kind, "retry");
    if (plan.kind !== "retry") return;
    delays.push(plan.delayMs);
    assert.equal(plan.next.attempt, n + 1);
    assert.equal(plan.next.history.length, n);
    state = plan.next;
  }
  assert.deepEqual(delays, [30_000, 60_000, 90_000]);
  const last = planRetry(state, 1, failure(4), policy);
  assert.equal(last.kind, "give_up");
  if (last.kind !== "give_up") return;
  assert.equal(last.history.length, 4);
  assert.match(last.error, /^REDUCTION: gave up after 4 attempts: output folder \/out/);
  assert.match(last.error, /1\. 2026-11-21T03:01:00.000Z on node1: output folder/);
  assert.match(last.error, /4\. 2026-11-21T03:04:00.000Z on node1/);
});

test("deliveries keep counting across re-sent copies, so reported attempts only grow", () => {
  const first = planRetry(undefined, 2, failure(1), policy);
  assert.ok(first.kind === "retry");
  const second = planRetry(first.next, 1, failure(2), policy);
  assert.ok(second.kind === "retry");
  assert.equal(second.next.deliveries, 3);
});

test("a single allowed attempt gives up at once", () => {
  const plan = planRetry(undefined, 1, failure(1), { ...policy, attempts: 1 });
  assert.equal(plan.kind, "give_up");
  if (plan.kind === "give_up") assert.match(plan.error, /gave up after 1 attempt:/);
});

describe("infrastructureFault: a failure of the machine, not of the script", () => {
  const cases: [string, string | null, string | null, RegExp | null][] = [
    ["a script that succeeded", null, null, null],
    ["a script's own error", null, "Traceback…\nValueError: bad input\n", null],
    [
      "Python's full-disk error",
      null,
      "Traceback…\nOSError: [Errno 28] No space left on device: '/out/x'\n",
      /^the disk is full or over quota \(the script said: OSError: \[Errno 28\] No space left on device/,
    ],
    [
      "a shell's full-disk error",
      null,
      "cp: error writing 'x': No space left on device",
      /cp: error writing/,
    ],
    ["a quota", null, "write failed: Disk quota exceeded\nexiting", /Disk quota exceeded/],
    ["an error code in a message", null, "Error: ENOSPC: no space left on device, write", /ENOSPC/],
    [
      "the executor's own problem comes first",
      "cannot write the job's log /o/x.log: ENOSPC",
      "ValueError: x",
      /^cannot write the job's log \/o\/x\.log: ENOSPC$/,
    ],
    ["a word that only looks alike", null, "spaces left in the device table: 0", null],
  ];
  for (const [name, problem, stderr, expected] of cases) {
    test(name, () => {
      const fault = infrastructureFault(problem, stderr);
      if (expected === null) assert.equal(fault, null);
      else assert.match(fault ?? "", expected);
    });
  }

  test("ENOSPC and EDQUOT are the codes of a full disk", () => {
    assert.deepEqual(["ENOSPC", "EDQUOT", "EACCES", undefined].map(isDiskFullCode), [
      true,
      true,
      false,
      false,
    ]);
  });
});
