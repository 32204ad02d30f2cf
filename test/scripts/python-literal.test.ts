import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import {
  PythonLiteralError,
  type PythonValue,
  pythonLiteral,
  renderReduceVarsModule,
} from "../../src/scripts/python-literal.ts";
import { readReduceVars } from "../../src/scripts/reduce-vars-reader.ts";
import type { VarValue } from "../../src/scripts/variable-types.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const run = promisify(execFile);
const tmp = tempDir("autoreduce-python-literal-");
after(tmp.cleanup);
const marker = join(tmp.path, "MARKER");

let moduleCount = 0;
/** Writes `source` as reduce_vars.py in a folder of its own; returns the folder. */
function writeModule(source: string): string {
  moduleCount += 1;
  const dir = join(tmp.path, `module-${moduleCount}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "reduce_vars.py"), source);
  return dir;
}

/** Imports the module in `dir` with real python and returns `expression` as JSON. */
async function importWithPython(dir: string, expression: string): Promise<unknown> {
  const code = `import json, reduce_vars\nprint(json.dumps(${expression}, ensure_ascii=True))`;
  const { stdout } = await run("python3", ["-S", "-c", code], { cwd: dir });
  return JSON.parse(stdout);
}

const utf8Hex = (text: string) => Buffer.from(text, "utf8").toString("hex");

const literals: Array<[string, PythonValue, string]> = [
  ["plain text", "abc", '"abc"'],
  ["quotes and backslashes", `a"b'c\\d`, `"a\\"b'c\\\\d"`],
  ["control characters", "\n\r\t\0\x7f", '"\\n\\r\\t\\x00\\x7f"'],
  ["latin-1 and BMP", "é\u2028", '"\\xe9\\u2028"'],
  ["non-BMP as one code point", "😀", '"\\U0001f600"'],
  ["an integer", 42, "42"],
  ["a negative integer", -7, "-7"],
  ["a large integer stays an integer", 1e21, "1000000000000000000000"],
  ["a fraction", 0.1, "0.1"],
  ["an exponent", 1.5e-7, "1.5e-7"],
  ["booleans", [true, false], "[True, False]"],
  ["a list", [1, "a", 2.5], '[1, "a", 2.5]'],
  ["a dict", { a: 1, "b c": ["x"] }, '{"a": 1, "b c": ["x"]}'],
  ["an empty dict and list", { e: [], d: {} }, '{"e": [], "d": {}}'],
];

for (const [name, value, expected] of literals) {
  test(`pythonLiteral: ${name}`, () => {
    assert.equal(pythonLiteral(value), expected);
  });
}

test("pythonLiteral writes floats with a point when asked", () => {
  assert.equal(pythonLiteral(3, { float: true }), "3.0");
  assert.equal(pythonLiteral([1, 2.5, 1e21], { float: true }), "[1.0, 2.5, 1e+21]");
  assert.equal(pythonLiteral(-0, { float: true }), "-0.0");
});

const refused: Array<[string, unknown]> = [
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["a lone surrogate", "a\ud800b"],
  ["null", null],
  ["undefined in a list", [undefined]],
  ["a Date", new Date(0)],
];

for (const [name, value] of refused) {
  test(`pythonLiteral refuses ${name}`, () => {
    assert.throws(() => pythonLiteral(value as PythonValue), PythonLiteralError);
  });
}

const hostile: string[] = [
  `'`,
  `"`,
  `'"'"`,
  `\\`,
  `\\\\"`,
  `ends with a backslash\\`,
  "line\nbreak",
  "carriage\rreturn",
  "tab\there",
  "nul\0byte",
  "é",
  "😀 and 👩‍👩‍👧",
  "עברית RTL \u202e",
  "line\u2028separator\u2029",
  "\ufeffbom",
  `'); import os; os.system('touch ${marker}') #`,
  `"); import os; os.system('touch ${marker}') #`,
  `"""`,
  `'''`,
  `\\" + __import__('os').system('touch ${marker}') + \\"`,
  `" + __import__('os').system('touch ${marker}') + "`,
  `\\N{LATIN SMALL LETTER E WITH ACUTE}`,
  `\\x41\\u0041\\U00000041`,
  `{0}%s$x\${x}`,
  "\n#\nimport os\nos.system('touch MARKER')\n",
];

test("hostile text reaches python byte-exact and runs nothing", async () => {
  const values = Object.fromEntries(hostile.map((text, i) => [`v${i}`, text]));
  const names = Object.fromEntries(hostile.map((text, i) => [text, i]));
  const source = renderReduceVarsModule({
    standard_vars: values,
    advanced_vars: names,
    variable_help: { standard_vars: values },
  });
  assert.match(source, /^[\x20-\x7e\n]*$/, "the generated module is printable ASCII");
  const dir = writeModule(source);
  const seen = await importWithPython(
    dir,
    "[{k: v.encode('utf-8').hex() for k, v in reduce_vars.standard_vars.items()}, " +
      "[k.encode('utf-8').hex() for k in reduce_vars.advanced_vars], reduce_vars.variable_help]",
  );
  assert.deepEqual(seen, [
    Object.fromEntries(hostile.map((text, i) => [`v${i}`, utf8Hex(text)])),
    hostile.map(utf8Hex),
    { standard_vars: values, advanced_vars: {} },
  ]);
  assert.equal(existsSync(marker), false);
  assert.equal(existsSync(join(dir, "MARKER")), false);
});

test("numbers reach python with their type and value", async () => {
  const numbers = [0, -3, 42, 2 ** 53 - 1, 0.1, -2.5, 1e-7, 1.5e300, 5e-324, 1e21, 123456.789];
  const dir = writeModule(
    renderReduceVarsModule({
      standard_vars: { ints: numbers.filter(Number.isInteger), f: 3, g: 0.5 },
      advanced_vars: { all: numbers },
      types: { standard_vars: { f: "number", g: "number" } },
    }),
  );
  const seen = await importWithPython(
    dir,
    "[[type(v).__name__, v] for v in reduce_vars.standard_vars['ints']] + " +
      "[[type(reduce_vars.standard_vars[k]).__name__, reduce_vars.standard_vars[k]] for k in 'fg'] + " +
      "[repr(v) for v in reduce_vars.advanced_vars['all']]",
  );
  assert.deepEqual(seen, [
    ...numbers.filter(Number.isInteger).map((n) => ["int", n]),
    ["float", 3],
    ["float", 0.5],
    ...numbers.map((n) => (Number.isInteger(n) ? BigInt(n).toString() : String(n).replace("e-7", "e-07"))),
  ]);
});

test("a generated module reads back through readReduceVars with its types", async () => {
  const vars = {
    standard_vars: { "Minimum Extents": [-1, 1.5], ei: 2, runs: [3, 4], title: "x'\"\\\n" } as Record<
      string,
      VarValue
    >,
    advanced_vars: { flag: true, none: [] } as Record<string, VarValue>,
    variable_help: { standard_vars: { ei: "Incident energy" }, advanced_vars: {} },
    types: {
      standard_vars: {
        "Minimum Extents": "list_number",
        ei: "number",
        runs: "list_number",
        title: "text",
      } as const,
      advanced_vars: { flag: "boolean", none: "list_text" } as const,
    },
  };
  const dir = writeModule(renderReduceVarsModule(vars));
  assert.deepEqual(await readReduceVars(join(dir, "reduce_vars.py")), vars);
});

test("renderReduceVarsModule starts with a header and writes empty sections as {}", () => {
  const source = renderReduceVarsModule({ standard_vars: {}, advanced_vars: {} });
  assert.match(source, /^# reduce_vars\.py generated by autoreduce/);
  assert.match(source, /\nstandard_vars = \{\}\n\nadvanced_vars = \{\}\n/);
});
