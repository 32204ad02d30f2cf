import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ExecutionLimits } from "../../src/executors/executor.ts";
import { formatDuration, limitBreach, type TreeMeasurement } from "../../src/executors/process-supervisor.ts";

const GIB = 1024 ** 3;
const NONE: ExecutionLimits = {
  memoryBytes: null,
  wallSeconds: null,
  stallSeconds: null,
  checkIntervalMs: 1000,
};
const QUIET: TreeMeasurement = { memoryBytes: GIB, elapsedSeconds: 10, silentSeconds: 1 };

describe("limitBreach", () => {
  const cases: [name: string, measured: TreeMeasurement, limits: ExecutionLimits, reason: string | null][] = [
    ["no limits never breach", { ...QUIET, memoryBytes: 100 * GIB }, NONE, null],
    ["memory under the limit", QUIET, { ...NONE, memoryBytes: 2 * GIB }, null],
    ["memory at the limit is allowed", QUIET, { ...NONE, memoryBytes: GIB }, null],
    [
      "memory over the limit",
      { ...QUIET, memoryBytes: 12.34 * GIB },
      { ...NONE, memoryBytes: 11 * GIB },
      "memory 12.3 GiB > limit 11.0 GiB",
    ],
    [
      "memory just over the limit shows enough decimals to differ",
      { ...QUIET, memoryBytes: 11.02 * GIB },
      { ...NONE, memoryBytes: 11 * GIB },
      "memory 11.02 GiB > limit 11.00 GiB",
    ],
    ["memory not measured yet", { ...QUIET, memoryBytes: null }, { ...NONE, memoryBytes: 1 }, null],
    [
      "wall time in minutes",
      { ...QUIET, elapsedSeconds: 61.2 * 60 },
      { ...NONE, wallSeconds: 3600 },
      "wall time 61.2 min > limit 60.0 min",
    ],
    [
      "short wall time in seconds",
      { ...QUIET, elapsedSeconds: 0.74 },
      { ...NONE, wallSeconds: 0.5 },
      "wall time 0.7 s > limit 0.5 s",
    ],
    [
      "long wall time in hours",
      { ...QUIET, elapsedSeconds: 3.26 * 3600 },
      { ...NONE, wallSeconds: 3 * 3600 },
      "wall time 3.3 h > limit 3.0 h",
    ],
    [
      "no output",
      { ...QUIET, silentSeconds: 601 },
      { ...NONE, stallSeconds: 600 },
      "no output for 10.02 min > limit 10.00 min",
    ],
    ["output recent enough", QUIET, { ...NONE, stallSeconds: 600 }, null],
    [
      "memory is named first when several limits are exceeded",
      { memoryBytes: 2 * GIB, elapsedSeconds: 100, silentSeconds: 100 },
      { memoryBytes: GIB, wallSeconds: 10, stallSeconds: 10, checkIntervalMs: 1000 },
      "memory 2.0 GiB > limit 1.0 GiB",
    ],
  ];
  for (const [name, measured, limits, reason] of cases) {
    test(name, () => {
      assert.equal(limitBreach(measured, limits), reason);
    });
  }
});

describe("formatDuration", () => {
  const cases: [seconds: number, text: string][] = [
    [0, "0.0 s"],
    [45, "45.0 s"],
    [119.9, "119.9 s"],
    [120, "2.0 min"],
    [3672, "61.2 min"],
    [7200, "2.0 h"],
  ];
  for (const [seconds, text] of cases) {
    test(`${seconds} s reads "${text}"`, () => {
      assert.equal(formatDuration(seconds), text);
    });
  }
});
