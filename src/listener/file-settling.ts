import { stat } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import type { Config } from "../config/load-config.ts";
import { type FoundFile, statFile } from "./archive-walk.ts";

/**
 * When a data file counts as complete, from the `archive` config section:
 * - `quiet`: its size and mtime have not changed for `settle_seconds` (checked with stat a few
 *   times per period), so a file that keeps growing is never complete;
 * - `marker`: `<file><completion_marker>` exists; no settle wait.
 */
export type CompletionRule = { kind: "quiet"; settleMs: number } | { kind: "marker"; marker: string };

export function completionRule(archive: Config["archive"]): CompletionRule {
  return archive.completion_marker !== null
    ? { kind: "marker", marker: archive.completion_marker }
    : { kind: "quiet", settleMs: archive.settle_seconds * 1000 };
}

/**
 * How often tracked files are stat-ed: four times per settle period (at least every 20 ms, at
 * most every second). With a marker the watcher's events do the work and this is a safety net.
 */
export function checkIntervalMs(rule: CompletionRule): number {
  if (rule.kind === "marker") return 500;
  return Math.min(1000, Math.max(20, rule.settleMs / 4));
}

/** The last observation of a tracked file: its version, and since when (monotonic ms) it has held. */
export interface Observation {
  size: number;
  mtimeMs: number;
  unchangedSince: number;
}

/** Pure: the observation after stat-ing a file again at `now` (reset when size or mtime moved). */
export function observe(previous: Observation | null, file: FoundFile, now: number): Observation {
  if (previous && previous.size === file.size && previous.mtimeMs === file.mtimeMs) return previous;
  return { size: file.size, mtimeMs: file.mtimeMs, unchangedSince: now };
}

interface Tracked<C> {
  context: C;
  last: Observation | null;
  /** Not checked by the timer before this time (monotonic ms): a deferred retry. */
  notBefore: number;
  checking: boolean;
  /** An event arrived during a check: check once more before deciding. */
  again: boolean;
}

/**
 * Files seen while (possibly) still being written, tracked in memory until they are complete.
 * `C` is whatever the caller wants back with a complete file.
 */
export class FileSettling<C> {
  private readonly tracked = new Map<string, Tracked<C>>();

  constructor(
    private readonly rule: CompletionRule,
    private readonly onComplete: (file: FoundFile, context: C) => void,
    private readonly onError: (path: string, error: unknown) => void,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Files being tracked now. */
  get size(): number {
    return this.tracked.size;
  }

  has(path: string): boolean {
    return this.tracked.has(path);
  }

  /** Starts tracking `path` (if not tracked yet) and checks it at once. */
  async observe(path: string, context: C): Promise<void> {
    if (!this.tracked.has(path)) {
      this.tracked.set(path, { context, last: null, notBefore: 0, checking: false, again: false });
    }
    await this.check(path);
  }

  /**
   * Tracks a complete file again, to be handed back after `delayMs` if it is still unchanged
   * (used when announcing it failed). A file that changed meanwhile settles afresh.
   */
  retryLater(file: FoundFile, context: C, delayMs: number): void {
    if (this.tracked.has(file.path)) return; // a newer event is already being followed
    const now = this.clock();
    const complete: Observation = {
      size: file.size,
      mtimeMs: file.mtimeMs,
      unchangedSince: this.rule.kind === "quiet" ? now - this.rule.settleMs : now,
    };
    this.tracked.set(file.path, {
      context,
      last: complete,
      notBefore: now + delayMs,
      checking: false,
      again: false,
    });
  }

  /** Checks every tracked file that is due (called on a timer). */
  async checkAll(): Promise<void> {
    const now = this.clock();
    const due = [...this.tracked].filter(([, t]) => t.notBefore <= now).map(([path]) => path);
    await Promise.all(due.map((path) => this.check(path)));
  }

  /** Forgets every tracked file. */
  clear(): void {
    this.tracked.clear();
  }

  private async check(path: string): Promise<void> {
    const entry = this.tracked.get(path);
    if (!entry) return;
    if (entry.checking) {
      entry.again = true;
      return;
    }
    entry.checking = true;
    try {
      do {
        entry.again = false;
        const file = await statFile(path, { onError: this.onError });
        if (this.tracked.get(path) !== entry) return;
        if (!file) {
          this.tracked.delete(path); // deleted (or replaced by a folder) before it was complete
          return;
        }
        entry.last = observe(entry.last, file, this.clock());
        if ((await this.isComplete(path, entry.last)) && !entry.again && this.tracked.get(path) === entry) {
          this.tracked.delete(path);
          this.onComplete(file, entry.context);
          return;
        }
      } while (entry.again);
    } finally {
      entry.checking = false;
    }
  }

  private async isComplete(path: string, last: Observation): Promise<boolean> {
    if (this.rule.kind === "quiet") return this.clock() - last.unchangedSince >= this.rule.settleMs;
    try {
      await stat(`${path}${this.rule.marker}`);
      return true;
    } catch {
      return false;
    }
  }
}
