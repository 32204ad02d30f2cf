import assert from "node:assert/strict";
import { test } from "node:test";
import { configFromObject } from "../../src/config/load-config.ts";
import { OutputOutsideRootError, outputDirFor } from "../../src/coordinator/output-location.ts";

const config = configFromObject(
  { output: { root: "/out" }, instruments: { TR: {}, BAD: { output_dir: "../{experiment}" } } },
  "/etc/autoreduce.yaml",
  {},
);
const run = (over: Record<string, unknown> = {}) => ({
  instrument: "TR",
  ipts: "IPTS-1",
  facility: "SNS",
  run_number: 3,
  ...over,
});

test("a run's output folder lies under output.root", () => {
  assert.equal(outputDirFor(config, run(), 0), "/out/TR/IPTS-1/shared/autoreduce");
});

for (const [name, over] of [
  ["an experiment climbing out", { ipts: "../../../ESCAPED" }],
  ["an experiment of ..", { ipts: ".." }],
  ["an instrument with a slash", { instrument: "TR/../.." }],
  ["a template climbing out of the root", { instrument: "BAD" }],
] as const) {
  test(`${name} is refused by outputDirFor (defence in depth)`, () => {
    assert.throws(() => outputDirFor(config, run(over), 0), OutputOutsideRootError);
  });
}
