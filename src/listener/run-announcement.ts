import { experimentProblem } from "../messages/path-component.ts";
import type { NexusMetadata } from "../nexus/nexus-metadata.ts";
import type { RecordedVersion } from "./archive-file-store.ts";
import type { ArchiveFile } from "./archive-layout.ts";

/** The body of the listener's `POSTPROCESS.DATA_READY` (SNS field names; see messages/data-ready.ts). */
export interface ListenerDataReady {
  facility: string;
  instrument: string;
  /** The experiment: the path's `{experiment}`, else the file's `entry/experiment_identifier`. */
  ipts: string;
  /**
   * From the path; it must equal the file's own `entry/run_number` when the file has one (a
   * disagreement goes to the error queue with both values).
   */
  run_number: number;
  data_file: string;
  started_by: "listener";
  /** `<path>:<size>:<mtimeMs>`: the coordinator recognises a re-sent notice of the same content by it. */
  dedupe_key: string;
  /** What could be read from the NeXus file; absent when it could not be read. */
  metadata?: NexusMetadata;
}

/** What to send for a complete file, with warnings for the log. */
export type AnnouncementPlan =
  | { kind: "announce"; body: ListenerDataReady; warnings: string[] }
  /**
   * No experiment could be found, the experiment is malformed, or the path's and the file's run
   * numbers differ: the would-be body plus `error` goes to the error queue.
   */
  | { kind: "reject"; body: Omit<ListenerDataReady, "ipts"> & { error: string }; warnings: string[] };

/** A file version as stat saw it. */
export interface FileVersion {
  size: number;
  mtimeMs: number;
}

export function dedupeKey(path: string, version: FileVersion): string {
  return `${path}:${version.size}:${version.mtimeMs}`;
}

/**
 * Decides the DATA_READY for a complete archive file. `metadata` is null when the NeXus file
 * could not be read (`metadataError` says why); the run is then announced without metadata.
 */
export function planAnnouncement(
  file: ArchiveFile,
  version: FileVersion,
  metadata: NexusMetadata | null,
  metadataError: string | null = null,
): AnnouncementPlan {
  const warnings: string[] = [];
  const runNumber = file.match.runNumber;
  const fromFile = metadata?.experiment_identifier ?? null;
  if (file.match.experiment !== null && fromFile !== null && fromFile !== file.match.experiment) {
    warnings.push(
      `experiment ${file.match.experiment} in the path differs from entry/experiment_identifier ${fromFile} in the file; using ${file.match.experiment}`,
    );
  }
  const common = {
    facility: file.layout.settings.facility,
    instrument: file.layout.settings.name,
    run_number: runNumber,
    data_file: file.path,
    started_by: "listener" as const,
    dedupe_key: dedupeKey(file.path, version),
    ...(metadata ? { metadata } : {}),
  };
  if (metadata?.run_number !== undefined && metadata.run_number !== runNumber) {
    // One of the two is wrong (a layout that cuts the digits, a renamed file); guessing would
    // record a run under a wrong number, so a person decides from the error queue.
    const error = `run number ${runNumber} in the path of ${file.path} differs from entry/run_number ${metadata.run_number} in the file (layout ${file.layout.pattern.source}): not announced`;
    return { kind: "reject", body: { ...common, error }, warnings };
  }
  const experiment = file.match.experiment ?? fromFile;
  // Only a malformed experiment stops here; whether it is a valid one (ISIS: an RB number, not
  // the calibration placeholder) is the coordinator's judgement, which records it as skipped.
  const badName = experiment === null ? null : experimentProblem(experiment);
  if (experiment !== null && badName !== null) {
    const error = `experiment of ${file.path} cannot be recorded: ${badName}`;
    return { kind: "reject", body: { ...common, error }, warnings };
  }
  if (experiment !== null) return { kind: "announce", body: { ...common, ipts: experiment }, warnings };
  const why = metadata
    ? "the file has no entry/experiment_identifier"
    : `its metadata could not be read (${metadataError ?? "unknown reason"})`;
  const error = `no experiment for ${file.path}: the layout ${file.layout.pattern.source} has no {experiment} and ${why}`;
  return { kind: "reject", body: { ...common, error }, warnings };
}

/**
 * Whether a complete file falls outside `archive.backfill_hours`: it was written before the
 * listener started, its mtime is older than the window, and it has not been announced (or
 * rejected) before. A file written while the listener runs is always announced, so `0` means
 * "no backfill of files from before the start", not "ignore everything". A file that was
 * announced and is then rewritten is announced again whatever its mtime: the window only
 * governs first sight.
 */
export function isBackfill(
  recorded: RecordedVersion | undefined,
  mtimeMs: number,
  now: number,
  backfillHours: number,
  /** When the listener started (epoch ms). */
  startedAt: number,
): boolean {
  if (recorded !== undefined && recorded.state !== "ignored") return false;
  if (mtimeMs >= startedAt) return false;
  return mtimeMs < now - backfillHours * 3_600_000;
}
