import assert from "node:assert/strict";
import { test } from "node:test";
import { pathComponentProblem } from "../../src/messages/path-component.ts";

const cases: Array<[string, RegExp | null]> = [
  ["IPTS-1234", null],
  ["RB2010001", null],
  ["NOM", null],
  ["cycle_24.1", null],
  ["..hidden-ish", /must not start with "\."/],
  ["", /empty/],
  [".", /must not be "\."/],
  ["..", /must not be "\.\."/],
  ["../../../ESCAPED", /only letters, digits/],
  ["a/b", /only letters, digits/],
  ["a\\b", /only letters, digits/],
  ["IPTS 1", /only letters, digits/],
  ["x\u0000y", /only letters, digits/],
  ["x\ny", /only letters, digits/],
  ["I".repeat(201), /201 characters long/],
  ["I".repeat(200), null],
];

for (const [value, problem] of cases) {
  test(`path component ${JSON.stringify(value.slice(0, 20))}: ${problem ? "refused" : "accepted"}`, () => {
    const got = pathComponentProblem(value);
    if (problem === null) assert.equal(got, null);
    else assert.match(got ?? "", problem);
  });
}
