import assert from "node:assert/strict";
import { test } from "node:test";
import {
  effectiveVariables,
  runsAffectedBy,
  type ScopedSet,
  selectVariableSet,
} from "../../src/coordinator/variable-selection.ts";

const set = (
  id: number,
  scope: ScopedSet["scope"],
  at: number | string | null,
  deleted = false,
): ScopedSet => ({
  id,
  scope,
  start_run: scope === "from_run" ? (at as number) : null,
  experiment: scope === "experiment" ? (at as string) : null,
  values: { standard_vars: { v: `set${id}` } },
  deleted_at: deleted ? 1 : null,
});

const sets: ScopedSet[] = [
  set(1, "from_run", 100),
  set(2, "from_run", 200),
  set(3, "experiment", "RB7"),
  set(4, "from_run", 300, true),
];

const cases: Array<[string, number, string, number | null]> = [
  ["before every start: script defaults", 99, "RB1", null],
  ["exactly at a start", 100, "RB1", 1],
  ["between starts: the highest start at or below", 150, "RB1", 1],
  ["exactly at the second start", 200, "RB1", 2],
  ["after a deleted start: the one before it", 350, "RB1", 2],
  ["experiment and run range both match: experiment wins", 250, "RB7", 3],
  ["experiment set applies below every start too", 5, "RB7", 3],
];
for (const [name, run, experiment, expected] of cases) {
  test(`variable selection: ${name}`, () => {
    assert.equal(selectVariableSet(sets, run, experiment)?.id ?? null, expected);
  });
}

test("variable selection: the newest of two sets for one experiment wins; a deleted one never applies", () => {
  const two = [set(5, "experiment", "RB9"), set(6, "experiment", "RB9"), set(7, "experiment", "RB9", true)];
  assert.equal(selectVariableSet(two, 1, "RB9")?.id, 6);
});

test("effective values: a set overrides only what it names; dropped and new script variables follow the script", () => {
  const defaults = { standard_vars: { a: 1, b: "x", c: true }, advanced_vars: { d: [1, 2] } };
  const chosen = { values: { standard_vars: { a: 5, gone: 9 }, advanced_vars: { d: [3] } } };
  assert.deepEqual(effectiveVariables(defaults, chosen), {
    standard_vars: { a: 5, b: "x", c: true },
    advanced_vars: { d: [3] },
  });
  assert.deepEqual(effectiveVariables(defaults, null), defaults);
});

test("a retroactive set is offered for the runs it would now apply to", () => {
  const runs = [
    { run_number: 150, experiment: "RB1" },
    { run_number: 250, experiment: "RB1" },
    { run_number: 260, experiment: "RB7" },
    { run_number: 90, experiment: "RB1" },
  ];
  // From 120 on: 150 yes; 250 no (the set from 200 is later); 260 no (experiment set); 90 no.
  assert.deepEqual(
    runsAffectedBy({ scope: "from_run", start_run: 120, experiment: null }, runs, sets),
    [150],
  );
  assert.deepEqual(
    runsAffectedBy({ scope: "experiment", start_run: null, experiment: "RB1" }, runs, sets),
    [150, 250, 90],
  );
});
