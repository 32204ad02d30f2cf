import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { prepareWorkspace } from "../../src/scripts/script-workspace.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("a job's workspace is removed whole, whatever the script left in it", () => {
  let scratch: ReturnType<typeof tempDir>;
  let scriptFile: string;
  before(() => {
    scratch = tempDir();
    scriptFile = join(scratch.path, "reduce_X.py");
    writeFileSync(scriptFile, "print(1)\n");
  });
  after(() => scratch.cleanup());

  const workspaceDir = (w: { varsDir: string }) => dirname(w.varsDir);

  test("nothing left by the script (the usual case)", () => {
    const w = prepareWorkspace({ path: scriptFile }, null);
    assert.ok(existsSync(w.varsJson) && existsSync(w.tmpDir));
    w.remove();
    assert.equal(existsSync(workspaceDir(w)), false);
  });

  test("temporary files, a __pycache__ beside the variables and an ISIS result", () => {
    const w = prepareWorkspace({ path: scriptFile }, { standard_vars: { a: 1 }, advanced_vars: {} });
    mkdirSync(join(w.tmpDir, "deep", "er"), { recursive: true });
    writeFileSync(join(w.tmpDir, "deep", "er", "scratch.bin"), "x");
    mkdirSync(join(w.varsDir, "__pycache__"));
    writeFileSync(join(w.varsDir, "__pycache__", "reduce_vars.cpython-312.pyc"), "x");
    writeFileSync(w.resultFile, "{}");
    w.remove();
    assert.equal(existsSync(workspaceDir(w)), false);
  });

  test("a recorded script that runs from its copy, and a file where a folder was", () => {
    const text = "print(2)\n";
    const w = prepareWorkspace({ path: scriptFile, text, hash: sha256(text) }, null);
    assert.notEqual(w.script, scriptFile);
    writeFileSync(join(workspaceDir(w), "stray"), "x");
    w.remove();
    assert.equal(existsSync(workspaceDir(w)), false);
  });

  test("removing twice is quiet", () => {
    const w = prepareWorkspace({ path: scriptFile }, null);
    w.remove();
    w.remove();
    assert.equal(existsSync(workspaceDir(w)), false);
  });
});
