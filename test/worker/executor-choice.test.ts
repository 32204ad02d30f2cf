import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseExecutor, type ExecutorChoice, type OwnExecutors } from "../../src/worker/executor-choice.ts";

const LOCAL_ONLY: OwnExecutors = { default: "local", others: [] };
const WITH_SLURM: OwnExecutors = { default: "local", others: ["slurm"] };

const CASES: Array<[string, string | undefined, OwnExecutors, ExecutorChoice]> = [
  ["no executor named: the worker's own", undefined, LOCAL_ONLY, { kind: "use", name: "local" }],
  ["the worker's default named", "local", LOCAL_ONLY, { kind: "use", name: "local" }],
  ["one of worker.executors named", "slurm", WITH_SLURM, { kind: "use", name: "slurm" }],
  [
    "a known kind this worker does not run",
    "slurm",
    LOCAL_ONLY,
    {
      kind: "refuse",
      reason:
        'the job\'s route names executor "slurm", which this worker does not run (its executors: local; worker.executor, worker.executors)',
    },
  ],
  [
    "a name no executor has",
    "ssh;rm -rf",
    WITH_SLURM,
    {
      kind: "refuse",
      reason:
        'the job\'s route names executor "ssh;rm -rf", which this worker does not run (its executors: local, slurm; worker.executor, worker.executors)',
    },
  ],
  [
    "a default listed again in worker.executors is named once",
    "ssh",
    { default: "local", others: ["local"] },
    {
      kind: "refuse",
      reason:
        'the job\'s route names executor "ssh", which this worker does not run (its executors: local; worker.executor, worker.executors)',
    },
  ],
];

for (const [name, requested, own, expected] of CASES) {
  test(`executor choice: ${name}`, () => {
    assert.deepEqual(chooseExecutor(requested, own), expected);
  });
}
