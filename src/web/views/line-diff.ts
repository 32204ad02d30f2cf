/**
 * A line diff of two texts (Myers' O(ND) algorithm: the shortest edit script), for comparing the
 * script two versions of a run ran. Pure; no dependency. Common leading and trailing lines are
 * set aside first, so two versions of a long script that differ in a few lines cost little.
 */

/** One line of a diff: in both texts, only in the second (added) or only in the first (removed). */
export interface DiffLine {
  kind: "same" | "add" | "del";
  text: string;
  /** 1-based line number in the first text (null for an added line). */
  a: number | null;
  /** 1-based line number in the second text (null for a removed line). */
  b: number | null;
}

/** A run of changed lines with some unchanged lines around them, as `diff -u` shows. */
export interface DiffHunk {
  /** First line of the hunk in each text (1-based; 0 when the hunk has no line of that text). */
  aStart: number;
  aCount: number;
  bStart: number;
  bCount: number;
  lines: DiffLine[];
}

/**
 * Beyond this many differing lines the middle is shown as removed then added: still a correct
 * diff, and the search's memory (about edits² numbers) stays bounded.
 */
const MAX_EDITS = 2000;

/** Splits a text into lines; a final newline does not make an empty last line. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** The lines of `b` against those of `a`, in order: every line of both appears once. */
export function diffLines(a: readonly string[], b: readonly string[], maxEdits = MAX_EDITS): DiffLine[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: DiffLine[] = [];
  for (let i = 0; i < start; i++) out.push({ kind: "same", text: a[i] ?? "", a: i + 1, b: i + 1 });
  const middle = middleEdits(a.slice(start, endA), b.slice(start, endB), maxEdits);
  for (const op of middle) {
    out.push({
      kind: op.kind,
      text: op.text,
      a: op.a === null ? null : op.a + start + 1,
      b: op.b === null ? null : op.b + start + 1,
    });
  }
  for (let i = endA, j = endB; i < a.length; i++, j++)
    out.push({ kind: "same", text: a[i] ?? "", a: i + 1, b: j + 1 });
  return out;
}

/** The changed lines with `context` unchanged lines around each change, merged where they touch. */
export function diffHunks(lines: readonly DiffLine[], context = 3): DiffHunk[] {
  const changed = lines.map((l, i) => (l.kind === "same" ? -1 : i)).filter((i) => i >= 0);
  const hunks: DiffHunk[] = [];
  let from = -1;
  let to = -1;
  const flush = () => {
    if (from < 0) return;
    const part = lines.slice(from, to + 1);
    const aLines = part.filter((l) => l.a !== null);
    const bLines = part.filter((l) => l.b !== null);
    hunks.push({
      aStart: aLines[0]?.a ?? 0,
      aCount: aLines.length,
      bStart: bLines[0]?.b ?? 0,
      bCount: bLines.length,
      lines: part,
    });
  };
  for (const i of changed) {
    const lo = Math.max(0, i - context);
    const hi = Math.min(lines.length - 1, i + context);
    if (from >= 0 && lo <= to + 1) to = hi;
    else {
      flush();
      from = lo;
      to = hi;
    }
  }
  flush();
  return hunks;
}

/** Counts of added and removed lines. */
export function diffStats(lines: readonly DiffLine[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of lines) {
    if (l.kind === "add") added++;
    else if (l.kind === "del") removed++;
  }
  return { added, removed };
}

interface Edit {
  kind: DiffLine["kind"];
  text: string;
  /** 0-based indices into the middle parts. */
  a: number | null;
  b: number | null;
}

/**
 * Myers' greedy forward search for the shortest edit script, keeping for each number of edits `d`
 * only the diagonals it can reach (2d+3 values), then walking back through them. Lines are
 * compared as small integers.
 */
function middleEdits(a: readonly string[], b: readonly string[], maxEdits: number): Edit[] {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return replaceAll(a, b);
  const ids = new Map<string, number>();
  const intern = (line: string) => {
    let id = ids.get(line);
    if (id === undefined) {
      id = ids.size;
      ids.set(line, id);
    }
    return id;
  };
  const A = Int32Array.from(a, intern);
  const B = Int32Array.from(b, intern);
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= Math.min(max, maxEdits); d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (v[offset + k - 1] ?? 0) < (v[offset + k + 1] ?? 0));
      let x = down ? (v[offset + k + 1] ?? 0) : (v[offset + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && A[x] === B[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found >= 0) break;
  }
  if (found < 0) return replaceAll(a, b);
  return backtrack(a, b, trace, found);
}

function backtrack(a: readonly string[], b: readonly string[], trace: Int32Array[], edits: number): Edit[] {
  const out: Edit[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = edits; d >= 0; d--) {
    const v = trace[d] ?? new Int32Array(0);
    // trace[d] holds diagonals -d-1 … d+1 of the state before step d.
    const at = (k: number) => v[k + d + 1] ?? 0;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      out.push({ kind: "same", text: a[x] ?? "", a: x, b: y });
    }
    if (d === 0) break;
    if (x === prevX) {
      y--;
      out.push({ kind: "add", text: b[y] ?? "", a: null, b: y });
    } else {
      x--;
      out.push({ kind: "del", text: a[x] ?? "", a: x, b: null });
    }
  }
  return out.reverse();
}

function replaceAll(a: readonly string[], b: readonly string[]): Edit[] {
  return [
    ...a.map((text, i): Edit => ({ kind: "del", text, a: i, b: null })),
    ...b.map((text, j): Edit => ({ kind: "add", text, a: null, b: j })),
  ];
}
