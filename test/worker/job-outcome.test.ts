import assert from "node:assert/strict";
import { test } from "node:test";
import type { ExecutionResult } from "../../src/executors/executor.ts";
import { judgeExecution } from "../../src/worker/job-outcome.ts";

const result = (over: Partial<ExecutionResult>): ExecutionResult => ({
  exitCode: 0,
  signal: null,
  cancelReason: null,
  stdoutTail: [],
  stderrTail: [],
  startedAt: new Date(0),
  finishedAt: new Date(1),
  ...over,
});

const cases: Array<[string, Partial<ExecutionResult>, ReturnType<typeof judgeExecution>]> = [
  [
    "exit 0 is success even with stderr output",
    { stderrTail: ["Warning: something"] },
    { ok: true, information: null },
  ],
  [
    "exit 1 names the last stderr line",
    { exitCode: 1, stderrTail: ["a", "ValueError: bad", ""] },
    { ok: false, error: "REDUCTION: ValueError: bad (exit code 1)" },
  ],
  [
    "lines of dashes are not the reason",
    { exitCode: 2, stderrTail: ["real reason", "-----"] },
    { ok: false, error: "REDUCTION: real reason (exit code 2)" },
  ],
  [
    "no stderr falls back to stdout",
    { exitCode: 1, stdoutTail: ["printed failure"] },
    { ok: false, error: "REDUCTION: printed failure (exit code 1)" },
  ],
  [
    "silent failure says so",
    { exitCode: 4 },
    { ok: false, error: "REDUCTION: script failed with exit code 4 and wrote no error" },
  ],
  [
    "a signal is named",
    { exitCode: null, signal: "SIGSEGV" },
    { ok: false, error: "REDUCTION: script failed with killed by SIGSEGV and wrote no error" },
  ],
  [
    "a cancel reason wins",
    { exitCode: null, signal: "SIGTERM", cancelReason: "cancelled by alice" },
    { ok: false, error: "REDUCTION: cancelled by alice" },
  ],
];

for (const [name, input, expected] of cases) {
  test(`job outcome: ${name}`, () => {
    assert.deepEqual(judgeExecution(result(input)), expected);
  });
}
