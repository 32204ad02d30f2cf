import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConfigInput } from "../../src/config/config-schema.ts";
import { configFromObject } from "../../src/config/load-config.ts";
import { scriptLimits } from "../../src/scripts/script-limits.ts";

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

type Expected = { memory: number | null; wall: number | null; stall: number | null; log: number | null };

const CASES: Array<[string, ConfigInput, string, Expected]> = [
  [
    "the worker's defaults: 70% of memory, 60 minutes, no stall limit, 64 MiB of log",
    {},
    "ANY",
    { memory: Math.floor(10 * GIB * 0.7), wall: 3600, stall: null, log: 64 * MIB },
  ],
  [
    "the instrument's settings win over the worker's",
    {
      worker: { memory_limit: "2GiB", time_limit_minutes: 30 },
      instruments: {
        NOM: { memory_limit: "4GiB", time_limit_minutes: 5, stall_minutes: 2, log_limit: "1MiB" },
      },
    },
    "nom",
    { memory: 4 * GIB, wall: 300, stall: 120, log: MIB },
  ],
  [
    "null in the instrument's settings lifts the worker's time and log limits",
    {
      worker: { memory_limit: "2GiB", log_limit: "8MiB" },
      instruments: { NOM: { time_limit_minutes: null, log_limit: null } },
    },
    "NOM",
    { memory: 2 * GIB, wall: null, stall: null, log: null },
  ],
  [
    "an instrument missing from the configuration gets the worker's",
    { worker: { memory_limit: "50%", stall_minutes: 10 }, instruments: { NOM: { memory_limit: "1GiB" } } },
    "CNCS",
    { memory: 5 * GIB, wall: 3600, stall: 600, log: 64 * MIB },
  ],
];

for (const [name, raw, instrument, expected] of CASES) {
  test(`script limits: ${name}`, () => {
    const got = scriptLimits(configFromObject(raw, "test", {}), instrument, 10 * GIB);
    assert.deepEqual(
      {
        memory: got.limits.memoryBytes,
        wall: got.limits.wallSeconds,
        stall: got.limits.stallSeconds,
        log: got.logLimitBytes,
      },
      expected,
    );
  });
}
