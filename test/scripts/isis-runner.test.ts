import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const RUNNER = fileURLToPath(new URL("../../src/scripts/isis_runner.py", import.meta.url));
const GENERATED_VARS = `standard_vars = {"x": 2}\nadvanced_vars = {"y": "generated"}\n`;
const SIBLING_VARS = `standard_vars = {"x": 1}\nadvanced_vars = {"y": "sibling"}\n`;

interface RunOutcome {
  code: number;
  stdout: string;
  stderr: string;
  result: unknown;
  outDir: string;
  scriptDir: string;
}

const roots: string[] = [];
after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

/** Lay out reduce.py (plus extra files beside it) and the generated vars, then run the runner. */
async function runScript(reducePy: string, extraFiles: Record<string, string> = {}): Promise<RunOutcome> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "isis-runner-"));
  roots.push(root);
  const scriptDir = path.join(root, "instrument");
  const varsDir = path.join(root, "vars");
  const outDir = path.join(root, "out", "run1"); // does not exist yet: the runner creates it
  fs.mkdirSync(scriptDir);
  fs.mkdirSync(varsDir);
  fs.writeFileSync(path.join(scriptDir, "reduce.py"), reducePy);
  fs.writeFileSync(path.join(scriptDir, "reduce_vars.py"), SIBLING_VARS);
  for (const [name, text] of Object.entries(extraFiles)) fs.writeFileSync(path.join(scriptDir, name), text);
  fs.writeFileSync(path.join(varsDir, "reduce_vars.py"), GENERATED_VARS);
  const resultPath = path.join(root, "result.json");
  const args = [RUNNER, path.join(scriptDir, "reduce.py"), "/data/RUN001.nxs", outDir, varsDir, resultPath];
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve) => {
      execFile("python3", args, (error, out, err) => {
        const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code: exitCode, stdout: out, stderr: err });
      });
    },
  );
  const result: unknown = fs.existsSync(resultPath) ? JSON.parse(fs.readFileSync(resultPath, "utf8")) : null;
  return { code, stdout, stderr, result, outDir, scriptDir };
}

/** main() writes what it saw into the output directory as JSON, so tests can inspect it. */
const reportingScript = (imports: string, body: string, returns = "None"): string =>
  `${imports}
import json, os
def main(input_file, output_dir):
    seen = ${body}
    with open(os.path.join(output_dir, "seen.json"), "w") as f:
        json.dump(seen, f)
    return ${returns}
`;

const readSeen = (outDir: string): unknown =>
  JSON.parse(fs.readFileSync(path.join(outDir, "seen.json"), "utf8"));

describe("isis_runner.py", () => {
  test("`import reduce_vars as web_var` gets the generated values, not the sibling file's", async () => {
    const run = await runScript(
      reportingScript(
        "import reduce_vars as web_var",
        '[web_var.standard_vars["x"], web_var.advanced_vars["y"], web_var.__file__]',
      ),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.result, { ok: true, additional_output_dirs: [] });
    const root = path.dirname(run.scriptDir);
    assert.deepEqual(readSeen(run.outDir), [2, "generated", path.join(root, "vars", "reduce_vars.py")]);
  });

  test("plain `import reduce_vars` (also inside main) gets the generated module", async () => {
    const run = await runScript(
      reportingScript(
        "import reduce_vars",
        '[reduce_vars.standard_vars["x"], __import__("reduce_vars").standard_vars["x"]]',
      ),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readSeen(run.outDir), [2, 2]);
  });

  test("a helper module beside reduce.py imports, and __file__ is reduce.py", async () => {
    const run = await runScript(
      reportingScript("import helper", "[helper.double(21), os.path.basename(__file__), __name__]"),
      { "helper.py": "def double(n):\n    return n * 2\n" },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readSeen(run.outDir), [42, "reduce.py", "reduce_script"]);
  });

  test("output_dir has a trailing slash, is the cwd, and the input file is passed through", async () => {
    const run = await runScript(reportingScript("", "[output_dir, os.getcwd(), input_file]"));
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readSeen(run.outDir), [
      `${run.outDir}/`,
      fs.realpathSync(run.outDir),
      "/data/RUN001.nxs",
    ]);
  });

  test("a returned list of extra directories is reported", async () => {
    const run = await runScript(reportingScript("", "None", '["/extra/a", "/extra/b"]'));
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.result, { ok: true, additional_output_dirs: ["/extra/a", "/extra/b"] });
  });

  test("a returned string becomes a one-element list", async () => {
    const run = await runScript(reportingScript("", "None", '"/extra/only"'));
    assert.deepEqual(run.result, { ok: true, additional_output_dirs: ["/extra/only"] });
  });

  test("any other return type is a failure", async () => {
    const run = await runScript(reportingScript("", "None", "42"));
    assert.equal(run.code, 1);
    assert.match(JSON.stringify(run.result), /^\{"ok":false,"error":"TypeError: main\(\) returned 42;/);
  });

  test("an exception: exit 1, error names it, full traceback on stderr", async () => {
    const run = await runScript(
      "def helper():\n    raise ValueError('bad')\n\ndef main(input_file, output_dir):\n    helper()\n",
    );
    assert.equal(run.code, 1);
    assert.deepEqual(run.result, { ok: false, error: "ValueError: bad" });
    assert.match(run.stderr, /Traceback \(most recent call last\):/);
    assert.match(run.stderr, /reduce\.py", line 2, in helper/);
    assert.match(run.stderr, /ValueError: bad\n$/);
  });

  test("no main(): exit 3", async () => {
    const run = await runScript("x = 1\n");
    assert.equal(run.code, 3);
    assert.deepEqual(run.result, { ok: false, error: "reduce.py defines no main(input_file, output_dir)" });
  });

  test("sys.exit(0) is success", async () => {
    const run = await runScript("import sys\ndef main(input_file, output_dir):\n    sys.exit(0)\n");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.result, { ok: true, additional_output_dirs: [] });
  });

  test("sys.exit(2) is failure", async () => {
    const run = await runScript("import sys\ndef main(input_file, output_dir):\n    sys.exit(2)\n");
    assert.equal(run.code, 1);
    assert.deepEqual(run.result, { ok: false, error: "reduce.py called sys.exit(2)" });
    assert.match(run.stderr, /reduce\.py called sys\.exit\(2\)/);
  });

  test("the script's stdout and stderr reach the runner's", async () => {
    const run = await runScript(
      "import sys\nprint('at import')\ndef main(input_file, output_dir):\n" +
        "    print('reducing', input_file)\n    sys.stderr.write('a warning\\n')\n",
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "at import\nreducing /data/RUN001.nxs\n");
    assert.equal(run.stderr, "a warning\n");
  });

  test("no __pycache__ is left beside reduce.py", async () => {
    const run = await runScript(reportingScript("import helper", "1"), { "helper.py": "X = 1\n" });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(fs.existsSync(path.join(run.scriptDir, "__pycache__")), false);
  });
});
