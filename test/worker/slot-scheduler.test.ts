import assert from "node:assert/strict";
import { test } from "node:test";
import { pickNext, type SlotLimits, SlotScheduler, SlotWithdrawn } from "../../src/worker/slot-scheduler.ts";

const job = (instrument: string, runNumber: number, seq: number, experiment = "IPTS-1") => ({
  key: `${instrument}-${runNumber}`,
  instrument,
  experiment,
  runNumber,
  seq,
});

const limits = (over: Partial<SlotLimits> = {}): SlotLimits => ({
  maxProcs: 4,
  perInstrument: () => 2,
  onePerExperiment: () => false,
  ...over,
});

const cases: Array<[string, Parameters<typeof pickNext>, string | null]> = [
  ["nothing waiting", [[], [], limits()], null],
  ["all slots busy", [[job("A", 9, 9)], [1, 2, 3, 4].map((n) => job(`R${n}`, n, n)), limits()], null],
  [
    "an instrument at its limit waits; another instrument goes",
    [[job("A", 3, 1), job("B", 7, 2)], [job("A", 1, 0), job("A", 2, 0)], limits()],
    "B-7",
  ],
  [
    "the lowest run of an instrument goes first, whatever the arrival order",
    [[job("A", 12, 1), job("A", 10, 2), job("A", 11, 3)], [], limits()],
    "A-10",
  ],
  [
    "between instruments, the earlier arrival goes first",
    [[job("B", 50, 4), job("A", 90, 2)], [], limits()],
    "A-90",
  ],
  [
    "no per-instrument limit with 0",
    [[job("A", 5, 1)], [job("A", 1, 0), job("A", 2, 0), job("A", 3, 0)], limits({ perInstrument: () => 0 })],
    "A-5",
  ],
  [
    "one per experiment: a run of a busy experiment waits, another experiment's run goes",
    [
      [job("A", 5, 1, "X"), job("A", 6, 2, "Y")],
      [job("A", 4, 0, "X")],
      limits({ onePerExperiment: () => true, perInstrument: () => 0 }),
    ],
    "A-6",
  ],
  [
    "one per experiment only where the instrument asks for it",
    [
      [job("A", 5, 1, "X")],
      [job("A", 4, 0, "X")],
      limits({ onePerExperiment: (i) => i === "B", perInstrument: () => 0 }),
    ],
    "A-5",
  ],
];

for (const [name, args, expected] of cases) {
  test(`pickNext: ${name}`, () => {
    assert.equal(pickNext(...args)?.key ?? null, expected);
  });
}

test("the scheduler starts waiting jobs in run order as slots free up", async () => {
  const scheduler = new SlotScheduler(limits({ maxProcs: 4, perInstrument: () => 2 }));
  const started: number[] = [];
  const releases = new Map<number, () => void>();
  const all = [5, 3, 1, 4, 2, 6].map((run) =>
    scheduler.acquire(job("A", run, 0)).then((release) => {
      started.push(run);
      releases.set(run, release);
    }),
  );
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [5, 3], "the first two arrivals take the instrument's two slots");
  for (let i = 0; i < 4; i++) {
    const [first] = [...releases.keys()];
    releases.get(first as number)?.();
    releases.delete(first as number);
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(all);
  assert.deepEqual(started, [5, 3, 1, 2, 4, 6]);
});

test("a withdrawn job never starts and its waiter is told why", async () => {
  const scheduler = new SlotScheduler(limits({ maxProcs: 1 }));
  const release = await scheduler.acquire(job("A", 1, 0));
  const waiting = scheduler.acquire(job("A", 2, 0));
  assert.equal(scheduler.withdraw("A-2", "cancelled by alice"), true);
  await assert.rejects(
    waiting,
    (e: unknown) => e instanceof SlotWithdrawn && e.reason === "cancelled by alice",
  );
  release();
  assert.deepEqual(scheduler.state, { running: [], waiting: [] });
});
