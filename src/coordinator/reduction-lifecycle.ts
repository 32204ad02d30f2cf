import type { ReductionStatus } from "../store/schema.ts";

/**
 * The lifecycle of one reduction version, in one place. Every job follows it, whatever its kind
 * (a watch step, a trigger, a live session: see the job record in docs/architecture.md).
 *
 * - `queued`: created; the job message is (or is about to be) on a worker queue.
 * - `running`: a worker reported STARTED.
 * - `retrying`: the job could not start for a reason that is not the script's fault (data file
 *   unreadable, output folder not writable, interpreter missing); it waits for a delayed retry.
 * - `completed`: the script succeeded (final).
 * - `error`: the script failed, or the job could not be run (final).
 * - `disabled`: the instrument has no reduction script (final).
 * - `skipped`: the instrument was paused when the run arrived (final; a re-run makes a new version).
 * - `cancelled`: a person cancelled it before it finished (final).
 *
 * Reports: STARTED → running; RETRYING → retrying; a handed-back job (its worker stopped before
 * it finished) → queued again; COMPLETE/ERROR/DISABLED → final.
 *
 * The sweeper (`reduction-sweeper.ts`): a queued, running or retrying job that no live worker
 * holds any more → queued again as the next attempt, or → error after `sweeper.max_attempts`.
 *
 * Reports travel on separate queues, so they can arrive out of order (COMPLETE before STARTED);
 * a report that would leave a final state is recorded as an event but changes nothing, and a
 * report from an earlier attempt than the reduction has seen is stale and changes nothing.
 */
export type Report = "started" | "retrying" | "handed_back" | "complete" | "error" | "disabled";

const FINAL: ReadonlySet<ReductionStatus> = new Set([
  "completed",
  "error",
  "disabled",
  "skipped",
  "cancelled",
]);

const TARGET: Record<Report, ReductionStatus> = {
  started: "running",
  retrying: "retrying",
  handed_back: "queued",
  complete: "completed",
  error: "error",
  disabled: "disabled",
};

/** The status after a report, or null if the report must not change the reduction. */
export function statusAfter(current: ReductionStatus, report: Report): ReductionStatus | null {
  if (FINAL.has(current)) return null;
  return TARGET[report];
}

export function isFinal(status: ReductionStatus): boolean {
  return FINAL.has(status);
}
