import type { Logger } from "../logging/logger.ts";
import { type ArchiveFileRecord, type ArchiveFileStore, isRecordedVersion } from "./archive-file-store.ts";
import type { ArchiveFile, ArchiveLayout } from "./archive-layout.ts";
import { type FoundFile, walkPattern } from "./archive-walk.ts";
import { isBackfill } from "./run-announcement.ts";
import { archiveFileRecord, backfillNote } from "./run-announcer.ts";

/** What one reconcile walk found. */
export interface ReconcileResult {
  /** Files matching a configured instrument's layout. */
  seen: number;
  /** New or changed files handed on to be announced once complete (DATA_READY, or the error queue). */
  announced: number;
  /** Files older than `archive.backfill_hours` recorded as `ignored`. */
  ignored: number;
}

export interface ReconcileDeps {
  layout: ArchiveLayout;
  store: ArchiveFileStore;
  /** `archive.backfill_hours`. */
  backfillHours: number;
  /** When the listener started (epoch ms): files written since are never backfill. */
  startedAt: number;
  now: () => number;
  log: Logger;
  /** Checked between folders: a stopping listener ends the walk early. */
  shouldStop: () => boolean;
  /** Hands a new or changed file on, to be announced once complete. */
  track: (file: ArchiveFile) => Promise<void>;
}

/**
 * Walks every root with every instrument's layout (see {@link walkPattern}) and compares what it
 * finds with `archive_files`, one folder at a time: recorded versions are skipped, files older
 * than the backfill window are recorded as `ignored` at once (hours-old files are not being
 * written, so they need not settle; the count is logged once per walk), the rest are tracked.
 */
export async function reconcileArchive(deps: ReconcileDeps): Promise<ReconcileResult> {
  const totals: ReconcileResult = { seen: 0, announced: 0, ignored: 0 };
  const started = deps.now();
  for (const root of deps.layout.roots) {
    for (const instrument of deps.layout.instruments) {
      const batches = walkPattern(root, instrument.pattern, {
        shouldStop: deps.shouldStop,
        onError: (path, error) => deps.log.warn({ path, err: error }, "cannot read an archive folder"),
      });
      for await (const batch of batches) await reconcileFolder(deps, root, batch, totals);
    }
  }
  if (totals.ignored > 0) {
    deps.log.info(
      { count: totals.ignored },
      `${totals.ignored} archive files older than the backfill window (${deps.backfillHours} h) recorded as ignored, not reduced`,
    );
  }
  deps.log.debug({ ...totals, ms: deps.now() - started }, "reconcile walk done");
  return totals;
}

async function reconcileFolder(
  deps: ReconcileDeps,
  root: string,
  batch: FoundFile[],
  totals: ReconcileResult,
): Promise<void> {
  const recorded = await deps.store.find(batch.map((f) => f.path));
  const now = deps.now();
  const ignored: ArchiveFileRecord[] = [];
  const candidates: ArchiveFile[] = [];
  for (const found of batch) {
    const file = deps.layout.classifyIn(root, found.path);
    if (!file) continue;
    totals.seen++;
    const previous = recorded.get(found.path);
    if (isRecordedVersion(previous, found)) continue;
    if (isBackfill(previous, found.mtimeMs, now, deps.backfillHours, deps.startedAt)) {
      ignored.push(archiveFileRecord(file, found, "ignored", backfillNote(deps.backfillHours), now));
    } else {
      candidates.push(file);
    }
  }
  await deps.store.record(ignored);
  totals.ignored += ignored.length;
  totals.announced += candidates.length;
  if (deps.shouldStop()) return;
  await Promise.all(candidates.map((file) => deps.track(file)));
}
