import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { DataReadySchema } from "../messages/data-ready.ts";
import { ErrorMessageSchema } from "../messages/error-message.ts";
import { messageBody } from "../messages/message-body.ts";
import { type NexusMetadata, readNexusMetadata } from "../nexus/nexus-metadata.ts";
import type { Transport } from "../transport/transport.ts";
import {
  type ArchiveFileRecord,
  type ArchiveFileState,
  type ArchiveFileStore,
  isRecordedVersion,
} from "./archive-file-store.ts";
import type { ArchiveFile } from "./archive-layout.ts";
import { type FileVersion, isBackfill, planAnnouncement } from "./run-announcement.ts";

/**
 * What happened to a complete file: `unchanged` means this version was dealt with before
 * (announced, ignored or rejected) and nothing was sent.
 */
export type AnnounceOutcome = ArchiveFileState | "unchanged";

/** The row recording what was done with one version of a file. */
export function archiveFileRecord(
  file: ArchiveFile,
  version: FileVersion,
  state: ArchiveFileState,
  note: string | null,
  now: number,
): ArchiveFileRecord {
  return {
    path: file.path,
    instrument: file.layout.settings.name,
    runNumber: file.match.runNumber,
    size: version.size,
    mtimeMs: version.mtimeMs,
    state,
    note,
    recordedAt: now,
  };
}

/** The note on files recorded as `ignored`. */
export function backfillNote(backfillHours: number): string {
  return `older than archive.backfill_hours (${backfillHours} h) when first seen; use autoreduce submit to reduce it`;
}

/**
 * Turns a complete archive file into a DATA_READY (or an error-queue message) and records it in
 * `archive_files`. The message is sent before the record is written, so a crash in between
 * re-announces the file at the next start; its `dedupe_key` lets the coordinator see the repeat.
 * Database and transport errors are thrown for the caller to retry.
 */
export class RunAnnouncer {
  constructor(
    private readonly config: Config,
    private readonly store: ArchiveFileStore,
    private readonly transport: Transport,
    private readonly log: Logger,
    private readonly now: () => number,
    /** When the listener started (epoch ms): files written since are never backfill. */
    private readonly startedAt: number,
  ) {}

  async announce(file: ArchiveFile, version: FileVersion): Promise<AnnounceOutcome> {
    const recorded = (await this.store.find([file.path])).get(file.path);
    if (isRecordedVersion(recorded, version)) return "unchanged";
    const { backfill_hours: backfillHours } = this.config.archive;
    if (isBackfill(recorded, version.mtimeMs, this.now(), backfillHours, this.startedAt)) {
      await this.store.record([
        archiveFileRecord(file, version, "ignored", backfillNote(backfillHours), this.now()),
      ]);
      this.log.info(
        { path: file.path, count: 1 },
        `1 archive file older than the backfill window (${backfillHours} h) recorded as ignored, not reduced`,
      );
      return "ignored";
    }
    const { metadata, error } = await readMetadata(file.path);
    if (error !== null) {
      this.log.warn({ path: file.path, error }, "cannot read NeXus metadata; announcing the run without it");
    }
    const plan = planAnnouncement(file, version, metadata, error);
    for (const warning of plan.warnings) this.log.warn({ path: file.path }, warning);
    if (plan.kind === "reject") {
      await this.transport.send(this.config.queues.postprocess_error, {
        body: messageBody(ErrorMessageSchema, plan.body),
        headers: { "x-error-reason": plan.body.error.slice(0, 500) },
      });
      await this.store.record([archiveFileRecord(file, version, "rejected", plan.body.error, this.now())]);
      this.log.error({ path: file.path }, `run sent to the error queue: ${plan.body.error}`);
      return "rejected";
    }
    await this.transport.send(this.config.queues.data_ready, {
      body: messageBody(DataReadySchema, {
        ...plan.body,
        metadata: plan.body.metadata as Record<string, unknown> | undefined,
      }),
    });
    await this.store.record([archiveFileRecord(file, version, "announced", null, this.now())]);
    const { instrument, run_number: run, ipts } = plan.body;
    this.log.info({ instrument, run, ipts, path: file.path }, `announced ${instrument} run ${run} (${ipts})`);
    return "announced";
  }
}

async function readMetadata(path: string): Promise<{ metadata: NexusMetadata | null; error: string | null }> {
  try {
    return { metadata: await readNexusMetadata(path), error: null };
  } catch (e) {
    return { metadata: null, error: e instanceof Error ? e.message : String(e) };
  }
}
