import { RefusedError } from "../failures/refused-error.ts";

/**
 * Run-number ranges as people type them: "1000-1010, 1020". Ranges are inclusive; the result is ascending
 * without duplicates. The size is checked before anything is expanded, so "1-1000000000" costs nothing.
 */

/** Thrown when run-range text is not a list of run numbers and ranges, or expands to too many runs. */
export class RunRangeError extends RefusedError {
  override readonly name = "RunRangeError";
}

export interface RunRangeOptions {
  /** The most runs the text may expand to (default 100 000). */
  maxCount?: number;
}

export const DEFAULT_MAX_RUNS = 100_000;

const SINGLE = /^(\d+)$/;
const RANGE = /^(\d+)\s*-\s*(\d+)$/;

/** The run numbers in `text`, e.g. "1000-1002,1020" → [1000, 1001, 1002, 1020]. Throws RunRangeError. */
export function parseRunRanges(text: string, options: RunRangeOptions = {}): number[] {
  const maxCount = options.maxCount ?? DEFAULT_MAX_RUNS;
  if (text.trim() === "") throw new RunRangeError("no run numbers given");
  const ranges = text.split(",").map(parsePart);
  const merged = mergeRanges(ranges);
  const count = merged.reduce((sum, [first, last]) => sum + (last - first + 1), 0);
  if (count > maxCount) {
    throw new RunRangeError(`'${text.trim()}': ${count} runs, more than the limit of ${maxCount}`);
  }
  const runs: number[] = [];
  for (const [first, last] of merged) {
    for (let run = first; run <= last; run++) runs.push(run);
  }
  return runs;
}

/**
 * The inclusive ranges in `text`, merged and ascending, not expanded: for searching, where
 * "1-1000000" is one condition. At most `maxParts` items. Throws RunRangeError.
 */
export function parseRunRangeBounds(text: string, maxParts = 100): Array<[number, number]> {
  if (text.trim() === "") throw new RunRangeError("no run numbers given");
  const parts = text.split(",");
  if (parts.length > maxParts) throw new RunRangeError(`${parts.length} items: give at most ${maxParts}`);
  return mergeRanges(parts.map(parsePart));
}

function parsePart(raw: string): [number, number] {
  const part = raw.trim();
  if (part === "") throw new RunRangeError("'': an empty item (two commas, or a comma at an end)");
  const single = SINGLE.exec(part);
  if (single) {
    const run = toRun(single[1], part);
    return [run, run];
  }
  const range = RANGE.exec(part);
  if (!range) throw new RunRangeError(`'${part}': not a run number or a range like 1000-1010`);
  const first = toRun(range[1], part);
  const last = toRun(range[2], part);
  if (last < first) throw new RunRangeError(`'${part}': a range must go upwards`);
  return [first, last];
}

function toRun(digits: string | undefined, part: string): number {
  const run = Number(digits);
  if (digits === undefined || !Number.isSafeInteger(run)) {
    throw new RunRangeError(`'${part}': not a run number`);
  }
  return run;
}

/** Sorted, non-overlapping, non-adjacent inclusive ranges covering the same runs. */
function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [first, last] of sorted) {
    const previous = merged.at(-1);
    if (previous !== undefined && first <= previous[1] + 1) previous[1] = Math.max(previous[1], last);
    else merged.push([first, last]);
  }
  return merged;
}
