import type { ReductionStatus } from "../store/schema.ts";

/**
 * The lifecycle of one reduction version, in one place.
 *
 * - `queued`: created; the job message is (or is about to be) on a worker queue.
 * - `running`: a worker reported STARTED.
 * - `retrying`: an infrastructure failure; the job waits for a delayed redelivery.
 * - `completed`: the script succeeded (final).
 * - `error`: the script failed, or the job could not be run (final).
 * - `disabled`: the instrument has no reduction script (final).
 * - `skipped`: the instrument was paused when the run arrived (final; a re-run makes a new version).
 * - `cancelled`: a person cancelled it before it finished (final).
 *
 * Reports travel on separate queues, so they can arrive out of order (COMPLETE before STARTED);
 * a report that would leave a final state is recorded as an event but changes nothing.
 */
export type Report = "started" | "complete" | "error" | "disabled";

const FINAL: ReadonlySet<ReductionStatus> = new Set([
  "completed",
  "error",
  "disabled",
  "skipped",
  "cancelled",
]);

const TARGET: Record<Report, ReductionStatus> = {
  started: "running",
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
