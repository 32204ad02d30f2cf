import assert from "node:assert/strict";
import { test } from "node:test";
import { type DiffLine, diffHunks, diffLines, diffStats, splitLines } from "../../src/web/views/line-diff.ts";

/** Applies a diff to the first text: must give the second. Also checks each side's lines in order. */
function check(a: string[], b: string[], lines: DiffLine[]): void {
  assert.deepEqual(
    lines.filter((l) => l.kind !== "add").map((l) => l.text),
    a,
    "the first text's lines, in order",
  );
  assert.deepEqual(
    lines.filter((l) => l.kind !== "del").map((l) => l.text),
    b,
    "the second text's lines, in order",
  );
  assert.deepEqual(
    lines.filter((l) => l.a !== null).map((l) => l.a),
    a.map((_, i) => i + 1),
  );
  assert.deepEqual(
    lines.filter((l) => l.b !== null).map((l) => l.b),
    b.map((_, i) => i + 1),
  );
}

/** The length of a longest common subsequence (dynamic programming): the minimal diff keeps this many lines. */
function lcsLength(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = a[i - 1] === b[j - 1] ? diagonal + 1 : Math.max(above, row[j - 1] ?? 0);
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

test("identical texts: every line the same", () => {
  const a = ["x = 1", "y = 2"];
  const lines = diffLines(a, [...a]);
  assert.ok(lines.every((l) => l.kind === "same"));
  check(a, a, lines);
  assert.deepEqual(diffHunks(lines), []);
});

test("one changed line in the middle of a script", () => {
  const a = ["import mantid", "bins = 100", "def main():", "    pass"];
  const b = ["import mantid", "bins = 400", "def main():", "    pass"];
  const lines = diffLines(a, b);
  check(a, b, lines);
  assert.deepEqual(
    lines.filter((l) => l.kind !== "same").map((l) => `${l.kind} ${l.text}`),
    ["del bins = 100", "add bins = 400"],
  );
  assert.deepEqual(diffStats(lines), { added: 1, removed: 1 });
});

test("empty on either side: all added or all removed", () => {
  check([], ["a", "b"], diffLines([], ["a", "b"]));
  assert.deepEqual(
    diffLines(["a"], []).map((l) => l.kind),
    ["del"],
  );
  assert.deepEqual(diffLines([], []), []);
});

test("the classic example (ABCABBA → CBABAC) is a shortest edit script of 5", () => {
  const a = [..."ABCABBA"];
  const b = [..."CBABAC"];
  const lines = diffLines(a, b);
  check(a, b, lines);
  const { added, removed } = diffStats(lines);
  assert.equal(added + removed, 5);
});

test("random texts: always a valid and minimal diff", () => {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let round = 0; round < 200; round++) {
    const make = () =>
      Array.from({ length: Math.floor(random() * 30) }, () => `line ${Math.floor(random() * 6)}`);
    const a = make();
    const b = make();
    const lines = diffLines(a, b);
    check(a, b, lines);
    const kept = lines.filter((l) => l.kind === "same").length;
    assert.equal(kept, lcsLength(a, b), `minimal for ${JSON.stringify({ a, b })}`);
  }
});

test("past the edit limit the middle is removed then added, still correct", () => {
  const a = Array.from({ length: 50 }, (_, i) => `a${i}`);
  const b = Array.from({ length: 50 }, (_, i) => `b${i}`);
  const lines = diffLines(["head", ...a, "tail"], ["head", ...b, "tail"], 10);
  check(["head", ...a, "tail"], ["head", ...b, "tail"], lines);
  assert.equal(lines[0]?.kind, "same");
  assert.equal(lines.at(-1)?.kind, "same");
});

test("hunks keep 3 lines of context and merge changes that are close", () => {
  const a = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
  const b = [...a];
  b[4] = "changed 5";
  b[7] = "changed 8";
  b[25] = "changed 26";
  const hunks = diffHunks(diffLines(a, b));
  assert.equal(hunks.length, 2);
  assert.deepEqual(
    hunks.map((h) => [h.aStart, h.aCount, h.bStart, h.bCount]),
    [
      [2, 10, 2, 10],
      [23, 7, 23, 7],
    ],
  );
  assert.equal(hunks[0]?.lines.filter((l) => l.kind !== "same").length, 4);
});

test("splitLines: a final newline makes no empty line; CRLF is one break", () => {
  assert.deepEqual(splitLines("a\nb\n"), ["a", "b"]);
  assert.deepEqual(splitLines("a\r\nb"), ["a", "b"]);
  assert.deepEqual(splitLines(""), []);
  assert.deepEqual(splitLines("\n"), [""]);
});
