import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { chooseLauncher } from "../../src/executors/launcher-choice.ts";
import { tempDir } from "../helpers/temp-dir.ts";

test("the Python launcher runs when python3 is on PATH, isolated from the worker's Python settings", () => {
  const scratch = tempDir("autoreduce-launcher-choice-");
  try {
    const python = join(scratch.path, "python3");
    writeFileSync(python, "#!/bin/sh\n");
    chmodSync(python, 0o755);
    const chosen = chooseLauncher(undefined, `/no/such/dir:${scratch.path}`);
    assert.equal(chosen.kind, "python");
    assert.equal(chosen.command, python);
    assert.deepEqual(chosen.args.slice(0, 2), ["-I", "-S"]);
    assert.match(chosen.args[2] ?? "", /launcher\.py$/);
    assert.equal(chosen.description, `python3 (${python})`);
  } finally {
    scratch.cleanup();
  }
});

test("without python3 on PATH the Node launcher runs, and the status says why", () => {
  const chosen = chooseLauncher(undefined, "/no/such/dir");
  assert.equal(chosen.kind, "node");
  assert.equal(chosen.command, process.execPath);
  assert.match(chosen.args[0] ?? "", /launcher\.mjs$/);
  assert.match(chosen.description, /no python3 on PATH/);
});

test("asking for the Python launcher without python3 is a clear error", () => {
  assert.throws(() => chooseLauncher("python", "/no/such/dir"), /no python3 on PATH/);
});

test("the Node launcher can be asked for where python3 exists", () => {
  assert.equal(chooseLauncher("node").kind, "node");
});
