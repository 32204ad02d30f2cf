import assert from "node:assert/strict";
import { test } from "node:test";
import type { VersionRow } from "../../src/web/pages/run-data.ts";
import { nameProblem, outputNames } from "../../src/web/pages/run-files.ts";
import { planValues, readValues, rerunFields } from "../../src/web/pages/run-rerun.tsx";
import { runTimeline, summarize } from "../../src/web/pages/run-timeline.ts";
import { flattenVariables, variableChanges } from "../../src/web/pages/run-variables.ts";

test("file names: plain names inside the folder only", () => {
  for (const ok of ["MARI_1.nxs", "sub/plot data.txt", "..notes/x", "a.b"])
    assert.equal(nameProblem(ok), null, ok);
  for (const bad of ["", "../x", "a/../b", "./a", "a//b", "/etc/passwd", "C:evil", "a\\b", "a\0b", "sub/"])
    assert.notEqual(nameProblem(bad), null, JSON.stringify(bad));
});

test("recorded files are named inside the output folder; others are never offered", () => {
  const names = outputNames({
    output_dir: "/out/MARI/1",
    output_files: [
      "/out/MARI/1/a.nxs",
      "/out/MARI/1/sub/b.txt",
      "/out/MARI/2/c.nxs",
      "/etc/passwd",
      "rel.txt",
      "../x",
      "/out/MARI/1/a.nxs",
    ],
  });
  assert.deepEqual(names, ["a.nxs", "sub/b.txt", "rel.txt"]);
  assert.deepEqual(outputNames({ output_dir: null, output_files: ["/out/a"] }), []);
});

test("stored variables: sectioned with types, a plain object, or nothing usable", () => {
  const flat = flattenVariables({
    standard_vars: { bins: 100, ei: 1, name: "x" },
    advanced_vars: { on: true, nested: { no: 1 } },
    types: { standard_vars: { ei: "number" } },
  });
  assert.deepEqual(
    flat.map((v) => [v.name, v.section, v.type]),
    [
      ["bins", "standard", "integer"],
      ["ei", "standard", "number"],
      ["name", "standard", "text"],
      ["on", "advanced", "boolean"],
    ],
  );
  assert.deepEqual(
    flattenVariables({ a: [1, "x"] }).map((v) => [v.name, v.type]),
    [["a", null]],
    "a mixed list has no form type",
  );
  assert.deepEqual(flattenVariables(null), []);
  assert.deepEqual(flattenVariables([1, 2]), []);
});

test("variable changes between two versions", () => {
  const a = flattenVariables({ standard_vars: { x: 1, y: [1, 2], gone: "a" }, advanced_vars: {} });
  const b = flattenVariables({ standard_vars: { x: 1, y: [1, 3], new: false }, advanced_vars: {} });
  assert.deepEqual(
    variableChanges(a, b).map((c) => `${c.name}:${c.kind}`),
    ["x:same", "y:changed", "gone:removed", "new:added"],
  );
  assert.equal(
    variableChanges(
      [{ name: "s", value: "1", section: "standard", type: "text" }],
      [{ name: "s", value: 1, section: "standard", type: "integer" }],
    )[0]?.kind,
    "changed",
    "the text '1' is not the number 1",
  );
});

test("the re-run form's fields: the version's variables, then the current script's new ones with help", () => {
  const fields = rerunFields(
    {
      variables: {
        standard_vars: { bins: 400 },
        advanced_vars: {},
        types: { standard_vars: { bins: "integer" } },
      },
    },
    {
      standard_vars: { bins: 100, ei: 12.5 },
      advanced_vars: { smooth: true },
      types: { standard_vars: { bins: "integer", ei: "number" }, advanced_vars: { smooth: "boolean" } },
      variable_help: { standard_vars: { bins: "Number of bins", ei: "Incident energy" }, advanced_vars: {} },
    },
  );
  assert.deepEqual(
    fields.map((f) => [f.name, f.section, f.type, f.value, f.help, f.added]),
    [
      ["bins", "standard", "integer", 400, "Number of bins", false],
      ["ei", "standard", "number", 12.5, "Incident energy", true],
      ["smooth", "advanced", "boolean", true, null, true],
    ],
  );
  const { values, errors } = readValues(fields, { bins: "3.5", ei: "1e-3", smooth: "no" });
  assert.deepEqual(Object.keys(errors), ["bins"]);
  assert.equal(values.get("ei"), 0.001);
  assert.equal(values.get("smooth"), false);
});

test("what a re-run sends: only the values that differ from the chosen script's, and which are unused", () => {
  const base = flattenVariables({ standard_vars: { bins: 100, ei: 12.5 }, advanced_vars: {} });
  const plan = planValues(
    base,
    new Map<string, string | number | boolean>([
      ["bins", 250],
      ["ei", 12.5],
      ["mode", "fast"],
    ]),
  );
  assert.deepEqual(plan.modifications, { bins: 250 });
  assert.deepEqual(
    plan.final.map((v) => [v.name, v.value]),
    [
      ["bins", 250],
      ["ei", 12.5],
    ],
  );
  assert.deepEqual(plan.unused, ["mode"]);
});

test("the timeline merges messages and versions' times, oldest first, with hosts", () => {
  const version = (v: number, fields: Partial<VersionRow>): VersionRow =>
    ({
      version: v,
      status: "completed",
      reason: "automatic",
      started_by: null,
      description: null,
      created_at: 1000,
      started_at: null,
      finished_at: null,
      host: null,
      executor: null,
      queue: null,
      duration_seconds: null,
      exit_code: null,
      ...fields,
    }) as VersionRow;
  const items = runTimeline(
    [version(0, { started_at: 2000, finished_at: 5000, host: "node-1", duration_seconds: 3, exit_code: 0 })],
    [
      {
        destination: "/queue/POSTPROCESS.DATA_READY",
        version: 0,
        at: new Date(1000).toISOString(),
        body: {},
      },
      {
        destination: "/queue/REDUCTION.STARTED",
        version: 0,
        at: new Date(2100).toISOString(),
        body: { host: "node-1", information: "node-1" },
      },
      {
        destination: "/queue/REDUCTION.ERROR",
        version: 0,
        at: new Date(4000).toISOString(),
        body: { error: "REDUCTION: boom", host: "node-1" },
      },
    ],
  );
  assert.deepEqual(
    items.map((i) => `${i.at} ${i.label} [${i.detail}] ${i.host ?? "-"}`),
    [
      "1000 Run ready for reduction [] -",
      "1000 Version 0 created [automatic] -",
      "2000 Version 0 started [] node-1",
      "2100 Worker started the script [] node-1",
      "4000 Worker reports failure [REDUCTION: boom] node-1",
      "5000 Version 0 ended: completed [ran 3.0 s, exit code 0] node-1",
    ],
  );
  assert.equal(summarize({ status: "running", cancelled_by: "mari" }), "status running; by mari");
  assert.equal(summarize("plain text body"), "plain text body");
  assert.equal(summarize("x".repeat(1000)).length, 400);
});
