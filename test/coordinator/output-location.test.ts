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

test("an ISIS-convention instrument writes ISIS's layout, each version in its own run-version-N folder", () => {
  const isis = configFromObject(
    {
      output: { root: "/out" },
      instruments: {
        MARI: { convention: "isis" },
        FLAT: { convention: "isis", versioned_output: false },
        SET: { convention: "isis", output_dir: "{instrument}/{experiment}" },
      },
    },
    "/etc/autoreduce.yaml",
    {},
  );
  const mari = run({ instrument: "MARI", ipts: "1920321", facility: "ISIS", run_number: 27031 });
  assert.equal(outputDirFor(isis, mari, 0), "/out/MARI/RBNumber/RB1920321/autoreduced/27031/run-version-0");
  assert.equal(outputDirFor(isis, mari, 2), "/out/MARI/RBNumber/RB1920321/autoreduced/27031/run-version-2");
  assert.equal(
    outputDirFor(isis, { ...mari, instrument: "FLAT" }, 2),
    "/out/FLAT/RBNumber/RB1920321/autoreduced/27031",
  );
  assert.equal(outputDirFor(isis, { ...mari, instrument: "SET" }, 1), "/out/SET/1920321/run-version-1");
});

test("output.dir, when set, is every instrument's default; SNS instruments keep one shared folder", () => {
  const set = configFromObject(
    {
      output: { root: "/out", dir: "{facility}/{instrument}/{experiment}" },
      instruments: { TR: {}, MARI: { convention: "isis" } },
    },
    "/etc/autoreduce.yaml",
    {},
  );
  assert.equal(outputDirFor(set, run(), 4), "/out/SNS/TR/IPTS-1");
  assert.equal(
    outputDirFor(set, run({ instrument: "MARI", ipts: "1920321", facility: "ISIS" }), 4),
    "/out/ISIS/MARI/1920321/run-version-4",
  );
});
