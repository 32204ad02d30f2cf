import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatBytes, MemoryLimitError, parseMemoryLimit } from "../../src/config/memory-size.ts";

const GIB = 1024 ** 3;
const TOTAL = 16 * GIB;

describe("parseMemoryLimit", () => {
  const cases: [text: string, bytes: number][] = [
    ["70%", Math.floor(TOTAL * 0.7)],
    ["100 %", TOTAL],
    ["12.5%", 2 * GIB],
    ["11GiB", 11 * GIB],
    ["11 gib", 11 * GIB],
    ["2G", 2 * GIB],
    ["1.5 GiB", 1.5 * GIB],
    ["512 MB", 512e6],
    ["512MiB", 512 * 1024 ** 2],
    ["100m", 100 * 1024 ** 2],
    ["4 kB", 4000],
    ["4K", 4096],
    ["1 TB", 1e12],
    ["1048576", 1048576],
    ["  300 B ", 300],
  ];
  for (const [text, bytes] of cases) {
    test(`"${text}" is ${bytes} bytes`, () => {
      assert.equal(parseMemoryLimit(text, TOTAL), bytes);
    });
  }

  const bad: [text: string, message: RegExp][] = [
    ["", /expected a number/],
    ["lots", /expected a number/],
    ["-1GiB", /expected a number/],
    ["1.5.2G", /expected a number/],
    ["12 parsecs", /unknown unit "parsecs"/],
    ["0%", /above 0 and at most 100/],
    ["150%", /above 0 and at most 100/],
    ["0 GiB", /at least one byte/],
  ];
  for (const [text, message] of bad) {
    test(`"${text}" is refused with a clear error`, () => {
      assert.throws(
        () => parseMemoryLimit(text, TOTAL),
        (e: unknown) =>
          e instanceof MemoryLimitError && message.test(e.message) && e.message.includes(`"${text}"`),
      );
    });
  }
});

describe("formatBytes", () => {
  const cases: [bytes: number, digits: number | undefined, text: string][] = [
    [0, undefined, "0 B"],
    [512, undefined, "512 B"],
    [1024, undefined, "1.0 KiB"],
    [1536, undefined, "1.5 KiB"],
    [100 * 1024 ** 2, undefined, "100.0 MiB"],
    [12.34 * GIB, undefined, "12.3 GiB"],
    [11 * GIB, undefined, "11.0 GiB"],
    [1024 ** 2 - 10, undefined, "1.0 MiB"],
    [2 * 1024 ** 4, undefined, "2.0 TiB"],
    [11.02 * GIB, 2, "11.02 GiB"],
  ];
  for (const [bytes, digits, text] of cases) {
    test(`${bytes} bytes read "${text}"`, () => {
      assert.equal(formatBytes(bytes, digits), text);
    });
  }
});
