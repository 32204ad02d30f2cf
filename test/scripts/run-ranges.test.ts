import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRunRanges, RunRangeError } from "../../src/scripts/run-ranges.ts";

const good: Array<[string, string, number[]]> = [
  ["one run", "1000", [1000]],
  ["a range and a run", "1000-1003,1020", [1000, 1001, 1002, 1003, 1020]],
  ["spaces", " 5 - 7 , 1 ", [1, 5, 6, 7]],
  ["a one-run range", "9-9", [9]],
  ["duplicates and overlaps", "3,1-4,2,4-5", [1, 2, 3, 4, 5]],
  ["descending input comes out ascending", "30,20,10", [10, 20, 30]],
  ["leading zeros", "007", [7]],
];

for (const [name, text, expected] of good) {
  test(`parseRunRanges: ${name}`, () => {
    assert.deepEqual(parseRunRanges(text), expected);
  });
}

const bad: Array<[string, string, string]> = [
  ["a backwards range", "1,10-5", "'10-5': a range must go upwards"],
  ["text", "abc", "'abc': not a run number or a range like 1000-1010"],
  ["a negative number", "-5", "'-5': not a run number or a range like 1000-1010"],
  ["a decimal", "1.5", "'1.5': not a run number or a range like 1000-1010"],
  ["an open range", "5-", "'5-': not a run number or a range like 1000-1010"],
  ["two dashes", "1-2-3", "'1-2-3': not a run number or a range like 1000-1010"],
  ["a space inside a number", "10 00", "'10 00': not a run number or a range like 1000-1010"],
  ["an empty item", "1,,2", "'': an empty item (two commas, or a comma at an end)"],
  ["a trailing comma", "1,", "'': an empty item (two commas, or a comma at an end)"],
  ["nothing", "  ", "no run numbers given"],
  ["a number too large", "99999999999999999999", "'99999999999999999999': not a run number"],
];

for (const [name, text, message] of bad) {
  test(`parseRunRanges refuses ${name}`, () => {
    assert.throws(
      () => parseRunRanges(text),
      (e: unknown) => e instanceof RunRangeError && e.message === message,
    );
  });
}

const limits: Array<[string, string, number, number | string]> = [
  ["at the limit", "1-10", 10, 10],
  ["overlaps count once", "1-10,5-10,10", 10, 10],
  ["over the limit", "1-10,20", 10, "'1-10,20': 11 runs, more than the limit of 10"],
  [
    "a huge range is refused without expanding it",
    "1-1000000000",
    1000,
    "'1-1000000000': 1000000000 runs, more than the limit of 1000",
  ],
  [
    "the default limit",
    "1-1000000000",
    Number.NaN,
    "'1-1000000000': 1000000000 runs, more than the limit of 100000",
  ],
];

for (const [name, text, maxCount, expected] of limits) {
  test(`parseRunRanges maxCount: ${name}`, () => {
    const options = Number.isNaN(maxCount) ? {} : { maxCount };
    if (typeof expected === "number") assert.equal(parseRunRanges(text, options).length, expected);
    else
      assert.throws(
        () => parseRunRanges(text, options),
        (e: unknown) => e instanceof RunRangeError && e.message === expected,
      );
  });
}
