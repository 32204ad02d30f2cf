import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseRoute, type RouteRule, type RunFacts } from "../../src/coordinator/routing.ts";

const DEFAULT = "/queue/REDUCTION.DATA_READY";
const HIMEM = "/queue/REDUCTION.HIMEM.DATA_READY";
const CALIB = "/queue/CALIBRATION.DATA_READY";

const rules: RouteRule[] = [
  { name: "calibration", instrument: "NOM", title: "^calibration", queue: CALIB, executor: "local" },
  { name: "big-sample", sample: "[Dd]iamond", queue: HIMEM },
  { name: "himem-title", title: "HIMEM|high memory", queue: HIMEM },
  { name: "big-file", min_file_bytes: 10_000_000_000, queue: HIMEM },
  { name: "agents", instrument: "EQSANS", queue: HIMEM, workers: "sns-agent" },
];

const run = (over: Partial<RunFacts>): RunFacts => ({
  instrument: "NOM",
  title: "vanadium rod",
  sample: null,
  fileBytes: 1000,
  ...over,
});

const cases: Array<[string, Partial<RunFacts>, string, string | null]> = [
  ["no rule matches: the default queue", {}, DEFAULT, null],
  ["a title pattern sends to the high-memory pool", { title: "HIMEM powder" }, HIMEM, "himem-title"],
  ["the first matching rule wins", { title: "calibration HIMEM" }, CALIB, "calibration"],
  [
    "an instrument condition limits a rule to that instrument",
    { instrument: "CNCS", title: "calibration" },
    DEFAULT,
    null,
  ],
  [
    "the instrument condition ignores case",
    { instrument: "nom", title: "calibration 3" },
    CALIB,
    "calibration",
  ],
  ["a sample pattern matches the sample name", { sample: "diamond anvil" }, HIMEM, "big-sample"],
  ["a big file goes to the high-memory pool", { fileBytes: 12_000_000_000 }, HIMEM, "big-file"],
  ["an unknown file size never matches a size rule", { fileBytes: null }, DEFAULT, null],
  ["an unknown title never matches a title rule", { title: null }, DEFAULT, null],
  ["a rule that names SNS agents as its workers", { instrument: "EQSANS" }, HIMEM, "agents"],
];

/** The executor a route names, by rule: only `calibration` names one; the others leave it to the worker. */
const EXECUTOR_BY_RULE: Record<string, string> = { calibration: "local" };
/** Who serves a route, by rule: only `agents` says; the others are the instrument's (here ours). */
const WORKERS_BY_RULE: Record<string, "sns-agent"> = { agents: "sns-agent" };

for (const [name, facts, queue, rule] of cases) {
  test(`routing: ${name}`, () => {
    const executor = rule ? (EXECUTOR_BY_RULE[rule] ?? null) : null;
    const workers = (rule ? WORKERS_BY_RULE[rule] : undefined) ?? "autoreduce";
    assert.deepEqual(chooseRoute(rules, run(facts), DEFAULT), { queue, rule, executor, workers });
  });
}

test("routing: a rule that does not say who serves it, and no rule at all, take the instrument's workers", () => {
  assert.equal(chooseRoute(rules, run({ title: "HIMEM" }), DEFAULT, "sns-agent").workers, "sns-agent");
  assert.equal(chooseRoute(rules, run({}), DEFAULT, "sns-agent").workers, "sns-agent");
  assert.equal(chooseRoute([], run({}), DEFAULT).workers, "autoreduce");
});
