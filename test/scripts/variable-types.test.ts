import assert from "node:assert/strict";
import { test } from "node:test";
import {
  coerceValue,
  coerceVariables,
  type TypedVar,
  typedVariables,
  typeOf,
  VariableValueError,
  type VarType,
  type VarValue,
} from "../../src/scripts/variable-types.ts";

const types: Array<[string, VarValue, boolean, VarType]> = [
  ["text", "abc", false, "text"],
  ["an integer", 3, false, "integer"],
  ["a fraction", 2.5, false, "number"],
  ["an integral float", 1, true, "number"],
  ["a boolean", false, false, "boolean"],
  ["a list of text", ["a"], false, "list_text"],
  ["a list of numbers", [1, 2.5], false, "list_number"],
  ["a list of booleans", [true], false, "list_boolean"],
  ["an empty list", [], false, "list_text"],
];

for (const [name, value, isFloat, expected] of types) {
  test(`typeOf: ${name}`, () => {
    assert.equal(typeOf(value, isFloat), expected);
  });
}

test("typeOf refuses a list mixing kinds", () => {
  assert.throws(() => typeOf([1, "a"]), VariableValueError);
});

const coercions: Array<[VarType, unknown, VarValue]> = [
  ["text", "", ""],
  ["text", " spaced ", " spaced "],
  ["integer", 3, 3],
  ["integer", "3", 3],
  ["integer", " -12 ", -12],
  ["integer", "1e3", 1000],
  ["integer", "3.0", 3],
  ["number", "3", 3],
  ["number", "3.5", 3.5],
  ["number", "-1.5e-3", -0.0015],
  ["number", ".5", 0.5],
  ["number", 2, 2],
  ["boolean", true, true],
  ["boolean", "true", true],
  ["boolean", "Yes", true],
  ["boolean", "1", true],
  ["boolean", "false", false],
  ["boolean", "NO", false],
  ["boolean", "0", false],
  ["boolean", 0, false],
  ["list_number", "1,2.5, 3", [1, 2.5, 3]],
  ["list_number", "[-1, 1e2]", [-1, 100]],
  ["list_number", "[]", []],
  ["list_number", "", []],
  ["list_number", [1, "2"], [1, 2]],
  ["list_number", 4, [4]],
  ["list_text", "a, b ,c", ["a", "b", "c"]],
  ["list_text", "['a', \"b c\"]", ["a", "b c"]],
  ["list_text", ["x,y"], ["x,y"]],
  ["list_boolean", "true,no,1", [true, false, true]],
];

for (const [type, input, expected] of coercions) {
  test(`coerceValue: ${type} from ${JSON.stringify(input)}`, () => {
    assert.deepEqual(coerceValue(type, input), expected);
  });
}

const refusals: Array<[VarType, unknown, string]> = [
  ["list_number", "a,b", "Minimum Extents: expected a list of numbers, got 'a,b'"],
  ["integer", "3.5", "Minimum Extents: expected an integer, got '3.5'"],
  ["integer", 2.5, "Minimum Extents: expected an integer, got 2.5"],
  ["integer", "9007199254740993", "Minimum Extents: expected an integer, got '9007199254740993'"],
  ["number", "0x10", "Minimum Extents: expected a number, got '0x10'"],
  ["number", "", "Minimum Extents: expected a number, got ''"],
  ["number", "Infinity", "Minimum Extents: expected a number, got 'Infinity'"],
  ["number", "1e999", "Minimum Extents: expected a number, got '1e999'"],
  ["number", Number.NaN, "Minimum Extents: expected a number, got null"],
  ["number", null, "Minimum Extents: expected a number, got null"],
  ["number", undefined, "Minimum Extents: expected a number, got nothing"],
  ["boolean", "maybe", "Minimum Extents: expected true or false, got 'maybe'"],
  ["boolean", 2, "Minimum Extents: expected true or false, got 2"],
  ["text", 42, "Minimum Extents: expected text, got 42"],
  ["list_number", "1,,2", "Minimum Extents: expected a list of numbers, got '1,,2'"],
  ["list_boolean", [true, "x"], 'Minimum Extents: expected a list of true/false values, got [true,"x"]'],
  ["list_text", { a: 1 }, 'Minimum Extents: expected a list of text, got {"a":1}'],
];

for (const [type, input, message] of refusals) {
  test(`coerceValue refuses ${type} from ${String(input)}`, () => {
    assert.throws(
      () => coerceValue(type, input, "Minimum Extents"),
      (error: unknown) => error instanceof VariableValueError && error.message === message,
    );
  });
}

test("coerceValue without a name says only what is wrong", () => {
  assert.throws(() => coerceValue("integer", "x"), { message: "expected an integer, got 'x'" });
});

const defaults: Record<string, TypedVar> = typedVariables(
  { ei: 1, runs: [1, 2], "Minimum Extents": [-1, 1], sum: false },
  { ei: "number" },
);

test("typedVariables takes the reader's types over inference", () => {
  assert.deepEqual(defaults.ei, { type: "number", value: 1 });
  assert.deepEqual(defaults.runs, { type: "list_number", value: [1, 2] });
});

const sets: Array<[string, Record<string, unknown>, Record<string, VarValue> | RegExp]> = [
  ["nothing set keeps the defaults", {}, { ei: 1, runs: [1, 2], "Minimum Extents": [-1, 1], sum: false }],
  [
    "values are coerced in place",
    { ei: "3", sum: "yes", "Minimum Extents": "[-2, 2]" },
    { ei: 3, runs: [1, 2], "Minimum Extents": [-2, 2], sum: true },
  ],
  [
    "an unknown name lists the known ones",
    { eii: 1 },
    /^unknown variable 'eii'; known: 'ei', 'runs', 'Minimum Extents', 'sum'$/,
  ],
  ["two unknown names", { a: 1, toString: 2 }, /^unknown variables 'a', 'toString'; known: /],
  ["a bad value names its variable", { runs: "1-3" }, /^runs: expected a list of numbers, got '1-3'$/],
];

for (const [name, values, expected] of sets) {
  test(`coerceVariables: ${name}`, () => {
    if (expected instanceof RegExp) {
      assert.throws(
        () => coerceVariables(defaults, values),
        (e: unknown) => e instanceof VariableValueError && expected.test(e.message),
      );
    } else {
      assert.deepEqual(coerceVariables(defaults, values), expected);
    }
  });
}

test("coerceVariables keeps a variable called __proto__ as data", () => {
  const result = coerceVariables(
    typedVariables(Object.fromEntries([["__proto__", 1]])),
    JSON.parse('{"__proto__": "2"}'),
  );
  assert.equal(Object.getPrototypeOf(result), Object.prototype);
  assert.deepEqual(Object.entries(result), [["__proto__", 2]]);
});
