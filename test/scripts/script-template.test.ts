// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Python string.Template templates
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { renderTemplate, TemplateError, templatePlaceholders } from "../../src/scripts/script-template.ts";

const run = promisify(execFile);

const placeholders: Array<[string, string, string[]]> = [
  ["none", "plain text", []],
  ["named and braced, in order, once each", "$b ${a} $b ${c}x", ["b", "a", "c"]],
  ["$$ is not a placeholder", "$$a $$$b", ["b"]],
  ["invalid ones are skipped", "$1 ${2} $ $-", []],
  ["names stop at the first non-identifier character", "$a.b $c_d9-e", ["a", "c_d9"]],
];

for (const [name, text, expected] of placeholders) {
  test(`templatePlaceholders: ${name}`, () => {
    assert.deepEqual(templatePlaceholders(text), expected);
  });
}

const renders: Array<[string, string, Record<string, string | number | boolean>, string]> = [
  ["the SNS case", "a=${value}", { value: 42 }, "a=42"],
  ["named", "run $run of $inst", { run: 7, inst: "PG3" }, "run 7 of PG3"],
  ["braced next to text", "${x}y", { x: "x" }, "xy"],
  ["dollars", "$$ $$x $$$x", { x: 1 }, "$ $x $1"],
  ["booleans as Python", "flag=$f other=$t", { f: false, t: true }, "flag=False other=True"],
  ["floats", "$v", { v: 0.5 }, "0.5"],
  ["values are inserted as is", "$v", { v: "$w ${x} \\n" }, "$w ${x} \\n"],
  ["extra values are ignored", "x", { unused: 1 }, "x"],
];

for (const [name, text, values, expected] of renders) {
  test(`renderTemplate: ${name}`, () => {
    assert.equal(renderTemplate(text, values), expected);
  });
}

const failures: Array<[string, string, Record<string, string>, string, string[]]> = [
  ["one missing", "a=$a", {}, "Template arguments missing: ['a']", ["a"]],
  [
    "missing in order of appearance",
    "$b ${a} $b $c",
    { c: "" },
    "Template arguments missing: ['b', 'a']",
    ["b", "a"],
  ],
  ["an invalid placeholder", "ab$ ", {}, "Invalid placeholder in string: line 1, col 3", []],
  [
    "an invalid placeholder on a later line",
    "a\nb\ncd$(",
    {},
    "Invalid placeholder in string: line 3, col 3",
    [],
  ],
  ["an unclosed brace", "x\r\n${a", { a: "1" }, "Invalid placeholder in string: line 2, col 1", []],
  ["a trailing dollar", "$", {}, "Invalid placeholder in string: line 1, col 1", []],
];

for (const [name, text, values, message, missing] of failures) {
  test(`renderTemplate refuses ${name}`, () => {
    assert.throws(
      () => renderTemplate(text, values),
      (error: unknown) =>
        error instanceof TemplateError &&
        error.message === message &&
        assert.deepEqual(error.missing, missing) === undefined,
    );
  });
}

test("renderTemplate agrees with Python's string.Template", async () => {
  const cases: Array<[string, Record<string, string>]> = [
    ["$a${b}$$c $$$a", { a: "1", b: "2" }],
    ["x\n\ny$!", {}],
    ["x\ry$", {}],
    ["é\u2028 $.", {}],
  ];
  for (const [text, values] of cases) {
    const code =
      "import json, sys, string\n" +
      "text, values = json.loads(sys.argv[1])\n" +
      "try: print(json.dumps(string.Template(text).substitute(values)))\n" +
      "except ValueError as e: print(json.dumps(str(e)))";
    const { stdout } = await run("python3", ["-S", "-c", code, JSON.stringify([text, values])]);
    let ours: string;
    try {
      ours = renderTemplate(text, values);
    } catch (error) {
      ours = (error as Error).message;
    }
    assert.equal(ours, JSON.parse(stdout), text);
  }
});
