import { mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * The job ledger: one small file per data file in a hidden folder of its output folder,
 * `<output>/.autoreduce/<data file>.job` (not in `reduction_log/`, where scientists read the
 * logs), saying which job last ran for that file, where, and whether its final report went out. Workers share the output folders (at a facility they
 * are on a shared file system), so the ledger lets a worker that receives a job again — after a
 * broker restart the broker re-delivers every job it has not seen acknowledged, possibly to
 * another worker — see that the job already ran, or is still running, elsewhere, instead of
 * running the script a second time. It is a hint on top of at-least-once delivery, never a lock:
 * a missing, unreadable or stale ledger means "run".
 */
export interface LedgerEntry {
  /** The job's id and attempt (`<job_id>#<attempt>`), or `message:<id>` for jobs without an id. */
  job: string;
  /**
   * - `running`: the script runs (the file is touched every {@link LEDGER_TOUCH_MS} meanwhile);
   * - `reported`: its final report (COMPLETE, ERROR) was sent;
   * - `released`: it ended without a final report (handed back, could not report): run it again.
   */
  state: "running" | "reported" | "released";
  host: string;
  pid: number;
  /** ISO time of the last state change. */
  at: string;
}

/** How often a running job's ledger is touched. */
export const LEDGER_TOUCH_MS = 5_000;
/** A `running` entry from another machine not touched for this long belongs to a dead worker. */
export const LEDGER_STALE_MS = 20_000;

/**
 * What a worker does with a job, given the ledger of its data file:
 * - `run`: nobody else has it (no entry, another job, released, or its worker is gone);
 * - `skip`: it was reported by `by` already: acknowledge it without running;
 * - `wait`: `by` is running it now: look again shortly.
 */
export type LedgerVerdict = { kind: "run" } | { kind: "skip"; by: string } | { kind: "wait"; by: string };

export interface LedgerView {
  entry: LedgerEntry | null;
  /** Epoch ms of the ledger file's last change. */
  mtimeMs: number;
}

/** Pure: the verdict for `job` at `now`, seen from `self` (this worker's host and pid). */
export function judgeLedger(
  view: LedgerView,
  job: string,
  self: { host: string; pid: number },
  now: number,
  isAlive: (pid: number) => boolean,
): LedgerVerdict {
  const { entry } = view;
  if (!entry || entry.job !== job || entry.state === "released") return { kind: "run" };
  const by = `${entry.host} (pid ${entry.pid})`;
  if (entry.state === "reported") return { kind: "skip", by };
  if (entry.host === self.host) {
    // On this machine the process table answers at once; our own pid means a former life of ours.
    return entry.pid !== self.pid && isAlive(entry.pid) ? { kind: "wait", by } : { kind: "run" };
  }
  return now - view.mtimeMs < LEDGER_STALE_MS ? { kind: "wait", by } : { kind: "run" };
}

/** The hidden folder of an output folder that holds the ledgers; never listed as output. */
export const LEDGER_FOLDER = ".autoreduce";

/** The ledger file of a data file's reductions in `outputDir`. */
export function ledgerPath(outputDir: string, dataFile: string): string {
  return join(outputDir, LEDGER_FOLDER, `${basename(dataFile)}.job`);
}

/** Reads a ledger; a missing or damaged file reads as no entry. */
export function readLedger(path: string): LedgerView {
  try {
    const mtimeMs = statSync(path).mtimeMs;
    const entry = JSON.parse(readFileSync(path, "utf8")) as Partial<LedgerEntry>;
    const valid =
      typeof entry.job === "string" &&
      typeof entry.host === "string" &&
      typeof entry.pid === "number" &&
      (entry.state === "running" || entry.state === "reported" || entry.state === "released");
    return { entry: valid ? (entry as LedgerEntry) : null, mtimeMs };
  } catch {
    return { entry: null, mtimeMs: 0 };
  }
}

/** Writes a ledger entry whole (a reader never sees half of it). Throws on I/O errors. */
export function writeLedger(path: string, entry: Omit<LedgerEntry, "at">): void {
  const partial = `${path}.${process.pid}.tmp`;
  const text = `${JSON.stringify({ ...entry, at: new Date().toISOString() })}\n`;
  try {
    writePartial(partial, text);
    renameSync(partial, path);
  } catch (e) {
    rmSync(partial, { force: true }); // a full disk must not leave the partial file behind
    throw e;
  }
}

/**
 * Writes the partial file, making the ledger folder only when it is missing: it exists after a
 * folder's first job, and a recursive mkdir of an existing folder costs a failed mkdir and a
 * stat, twice per job.
 */
function writePartial(partial: string, text: string): void {
  try {
    writeFileSync(partial, text);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    mkdirSync(dirname(partial), { recursive: true });
    writeFileSync(partial, text);
  }
}

/** Marks a running entry as alive. Throws on I/O errors. */
export function touchLedger(path: string): void {
  const now = new Date();
  utimesSync(path, now, now);
}

/** True if a process with this pid exists on this machine. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Keeps the ledger of one job while this worker runs it: `running` (touched while the script
 * runs), then `reported` or `released`. Ledger I/O errors are reported to `onError` and never
 * stop the job: the ledger only saves duplicate runs.
 */
export class LedgerKeeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly job: string,
    private readonly host: string,
    private readonly onError: (e: unknown) => void,
  ) {}

  start(): void {
    this.write("running");
    this.timer = setInterval(() => this.guard(() => touchLedger(this.path)), LEDGER_TOUCH_MS);
    this.timer.unref();
  }

  end(state: "reported" | "released"): void {
    clearInterval(this.timer);
    this.write(state);
  }

  private write(state: LedgerEntry["state"]): void {
    this.guard(() => writeLedger(this.path, { job: this.job, state, host: this.host, pid: process.pid }));
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (e) {
      this.onError(e);
    }
  }
}
