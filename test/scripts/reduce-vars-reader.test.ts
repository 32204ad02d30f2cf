import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { type ReduceVars, ReduceVarsError, readReduceVars } from "../../src/scripts/reduce-vars-reader.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const tmp = tempDir("autoreduce-reduce-vars-");
after(tmp.cleanup);

let fileCount = 0;
/** Writes `source` as `reduce_vars.py` in a folder of its own; returns the path. */
function write(source: string): string {
  fileCount += 1;
  const dir = join(tmp.path, `case-${fileCount}`);
  mkdirSync(dir);
  const path = join(dir, "reduce_vars.py");
  writeFileSync(path, source);
  return path;
}

const noHelp = { standard_vars: {}, advanced_vars: {} };
const empty: ReduceVars = { standard_vars: {}, advanced_vars: {}, variable_help: noHelp, types: noHelp };

const good: Array<[string, string, ReduceVars]> = [
  [
    "an ISIS file with spaces in names, help and a docstring",
    [
      '"""Variables for reduce.py."""',
      "# a comment",
      "standard_vars = {",
      "    'Minimum Extents': [-0.5, 0.5, 1],",
      "    'do_absolute': False,",
      "    'ei': 1.0,",
      "    'runs': [100, 101],",
      "    'title': 'é 😀 \"x\"',",
      "}",
      "advanced_vars = {'mask': '', 'flags': [True, False], 'none': []}",
      "variable_help = {",
      "    'standard_vars': {'ei': 'Incident energy (meV)'},",
      "    'advanced_vars': {'mask': 'Mask file'},",
      "}",
    ].join("\n"),
    {
      standard_vars: {
        "Minimum Extents": [-0.5, 0.5, 1],
        do_absolute: false,
        ei: 1,
        runs: [100, 101],
        title: 'é 😀 "x"',
      },
      advanced_vars: { mask: "", flags: [true, false], none: [] },
      variable_help: { standard_vars: { ei: "Incident energy (meV)" }, advanced_vars: { mask: "Mask file" } },
      types: {
        standard_vars: {
          "Minimum Extents": "list_number",
          do_absolute: "boolean",
          ei: "number",
          runs: "list_number",
          title: "text",
        },
        advanced_vars: { mask: "text", flags: "list_boolean", none: "list_text" },
      },
    },
  ],
  [
    "integers stay integers, integral floats are numbers, exponents read",
    "standard_vars = {'i': 3, 'f': 3.0, 'e': 1e3, 'n': -2, 'big': 9007199254740991}",
    {
      ...empty,
      standard_vars: { i: 3, f: 3, e: 1000, n: -2, big: 9007199254740991 },
      types: {
        standard_vars: { i: "integer", f: "number", e: "number", n: "integer", big: "integer" },
        advanced_vars: {},
      },
    },
  ],
  ["standard_vars missing but advanced_vars present", "advanced_vars = {}", empty],
  // ISIS treats these as "no variables" and reduces (its own good-run fixture has such a file).
  ["an empty file: no variables", "", empty],
  ["only comments and a docstring: no variables", '"""Nothing to set."""\n# nothing\n', empty],
  ["other literal names are ignored", "standard_vars = {}\nversion = '1.2'\nX = [1, (2, 3)]", empty],
  [
    "a variable called __proto__ is an own property",
    "standard_vars = {'__proto__': 1}",
    {
      ...empty,
      standard_vars: Object.fromEntries([["__proto__", 1]]),
      types: { standard_vars: Object.fromEntries([["__proto__", "integer"]]), advanced_vars: {} },
    },
  ],
];

for (const [name, source, expected] of good) {
  test(`reduce_vars reader: ${name}`, async () => {
    assert.deepEqual(await readReduceVars(write(source)), expected);
  });
}

const bad: Array<[string, string, number | undefined, RegExp]> = [
  ["an import", "import os\nstandard_vars = {}", 1, /found an import/],
  ["a call", "standard_vars = {}\nx = open('f')", 2, /^only plain assignments .* \(found a function call\)$/],
  ["a call inside a dict", "standard_vars = {\n 'a': len('x')}", 2, /found a function call/],
  ["a name reference", "standard_vars = {'a': b}", 1, /found the name 'b'/],
  ["a comprehension", "standard_vars = {'a': [i for i in range(3)]}", 1, /found a comprehension/],
  ["an augmented assignment", "standard_vars = {}\nstandard_vars += 1", 2, /found an augmented assignment/],
  ["arithmetic", "standard_vars = {'a': 1 + 2}", 1, /found an arithmetic expression/],
  ["an f-string", "standard_vars = {'a': f'{1}'}", 1, /found an f-string/],
  ["an item assignment", "standard_vars = {}\nstandard_vars['a'] = 1", 2, /found an item assignment/],
  ["a function definition", "def f():\n  pass", 1, /found a function definition/],
  ["a bare call", "standard_vars = {}\nprint('x')", 2, /found a function call/],
  ["** unpacking", "standard_vars = {**{}}", 1, /found a \*\* unpacking/],
  ["a syntax error", "standard_vars = {\n'a': 1,,\n}", 2, /^syntax error: /],
  [
    "a duplicate key",
    "standard_vars = {\n'a': 1,\n'a': 2}",
    3,
    /duplicate key 'a' in a dict \(first on line 2\)/,
  ],
  ["a name assigned twice", "standard_vars = {}\nstandard_vars = {}", 2, /'standard_vars' is assigned twice/],
  [
    "a variable in both standard_vars and advanced_vars, naming both lines",
    "standard_vars = {'bins': 100}\nadvanced_vars = {\n'smooth': False,\n'bins': 200}",
    4,
    /'bins' is in both standard_vars \(line 1\) and advanced_vars \(line 4\)/,
  ],
  ["neither section", "x = 1", undefined, /defines neither standard_vars nor advanced_vars/],
  ["a section that is not a dict", "standard_vars = [1]", 1, /standard_vars must be a dict/],
  [
    "a nested dict",
    "standard_vars = {'d': {'a': 1}}",
    1,
    /standard_vars\['d'\]: a nested dict is not allowed/,
  ],
  ["None", "advanced_vars = {'n': None}", 1, /advanced_vars\['n'\]: None is not allowed/],
  ["a tuple", "standard_vars = {'t': (1, 2)}", 1, /standard_vars\['t'\]: a tuple is not allowed/],
  ["a nested list", "standard_vars = {'l': [[1]]}", 1, /standard_vars\['l'\]: a nested list/],
  ["a mixed list", "standard_vars = {'l': [1, 'a']}", 1, /one kind of value \(found numbers and text\)/],
  ["infinity", "standard_vars = {'f': 1e999}", 1, /numbers must be finite/],
  ["a huge integer", "standard_vars = {'i': 2**64}", 1, /found an arithmetic expression/],
  ["a too large integer", "standard_vars = {'i': 18446744073709551616}", 1, /too large/],
  ["a non-string name", "standard_vars = {1: 2}", 1, /variable names must be strings/],
  ["bad help", "standard_vars = {}\nvariable_help = {'standard_vars': {'a': 1}}", 2, /variable_help/],
];

for (const [name, source, line, reason] of bad) {
  test(`reduce_vars reader refuses ${name}`, async () => {
    const path = write(source);
    await assert.rejects(readReduceVars(path), (error: unknown) => {
      assert.ok(error instanceof ReduceVarsError);
      assert.equal(error.line, line);
      assert.equal(error.path, path);
      assert.match(error.reason, reason);
      const where = line === undefined ? "reduce_vars.py" : `reduce_vars.py line ${line}`;
      assert.equal(error.message, `${where}: ${error.reason}`);
      return true;
    });
  });
}

test("reduce_vars reader does not run the code it refuses", async () => {
  const marker = join(tmp.path, "marker");
  const attempts = [
    `import os; os.system('touch ${marker}')`,
    `x = open('${marker}', 'w')`,
    `standard_vars = {'a': open('${marker}', 'w')}`,
    `standard_vars = {'a': __import__('os').system('touch ${marker}')}`,
    `standard_vars = {}\nclass A:\n    open('${marker}', 'w')`,
    `standard_vars = {'a': [open('${marker}', 'w') for _ in [1]]}`,
    `standard_vars = {'a': 1}\nstandard_vars = open('${marker}', 'w')`,
  ];
  for (const source of attempts) {
    await assert.rejects(readReduceVars(write(source)), ReduceVarsError);
    assert.equal(existsSync(marker), false, source);
  }
});

test("reduce_vars reader names a missing file", async () => {
  await assert.rejects(readReduceVars(join(tmp.path, "absent.py")), /absent\.py: cannot read the file/);
});

test("reduce_vars reader names a missing interpreter", async () => {
  const path = write("standard_vars = {}");
  await assert.rejects(
    readReduceVars(path, "no-such-python-3"),
    (error: unknown) =>
      error instanceof ReduceVarsError && /cannot run no-such-python-3: not found/.test(error.message),
  );
});
