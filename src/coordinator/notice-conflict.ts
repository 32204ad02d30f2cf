import type { RunIdentity } from "../store/run-store.ts";

/** What to do with an automatic DATA_READY whose file content was recorded under another identity. */
export type ConflictDecision =
  /** Record the notice as its own run; `note` says which other runs hold the same content. */
  | { action: "record"; note: string }
  /** Create nothing; the notice goes to POSTPROCESS.ERROR with `reason` (both identities named). */
  | { action: "refuse"; reason: string };

/** `DEMO run 3 (IPTS-1)`. */
export function describeIdentity(identity: RunIdentity): string {
  return `${identity.instrument} run ${identity.runNumber} (${identity.experiment})`;
}

/**
 * Decides a conflicting notice: the same file content (path, size, mtime) was recorded before,
 * but for another instrument, experiment or run. The file's own `entry/run_number` settles it
 * when it can be read: a notice that contradicts the file is refused; otherwise the notice names
 * a valid identity (it passed every check at the edge) and is recorded as its own run, so a
 * correct notice after a wrong one is never lost. Pure.
 */
export function decideNoticeConflict(
  dataFile: string,
  notice: RunIdentity,
  recorded: RunIdentity[],
  /** `entry/run_number` read from the data file; null when absent or unreadable. */
  fileRunNumber: number | null,
): ConflictDecision {
  const earlier = recorded.map(describeIdentity).join(", ");
  if (fileRunNumber !== null && fileRunNumber !== notice.runNumber) {
    return {
      action: "refuse",
      reason: `conflicting DATA_READY: ${dataFile} with this content was already recorded as ${earlier}; this notice says ${describeIdentity(notice)}, but the file's entry/run_number is ${fileRunNumber}`,
    };
  }
  const why =
    fileRunNumber === null
      ? "the file's entry/run_number cannot be read, so the notice is taken as it is"
      : "the file's entry/run_number agrees with this notice";
  return {
    action: "record",
    note: `${dataFile} with this content was already recorded as ${earlier}; recorded as ${describeIdentity(notice)} too (${why})`,
  };
}
