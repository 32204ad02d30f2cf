import type { SqlDatabase } from "../store/state-database.ts";

/**
 * What the listener did with one version (size + mtime) of an archive file:
 * - `announced`: a DATA_READY was sent;
 * - `ignored`: older than `archive.backfill_hours` when first seen, so not announced;
 * - `rejected`: could not be announced (no experiment); sent to the error queue instead.
 */
export type ArchiveFileState = "announced" | "ignored" | "rejected";

/** One row of `archive_files`. */
export interface ArchiveFileRecord {
  path: string;
  instrument: string;
  runNumber: number;
  size: number;
  mtimeMs: number;
  state: ArchiveFileState;
  /** Why, for `rejected` (and anything an operator should know). */
  note: string | null;
  recordedAt: number;
}

/** The recorded version of a file. */
export interface RecordedVersion {
  size: number;
  mtimeMs: number;
  state: string;
}

/** Rows per statement: well inside SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 200;

/**
 * The `archive_files` table: which version of each archive file the listener has dealt with, so
 * that each version is announced once, across restarts and by any number of listener runs.
 */
export class ArchiveFileStore {
  constructor(private readonly database: SqlDatabase) {}

  /** The recorded versions of these paths (paths never recorded are absent from the map). */
  async find(paths: readonly string[]): Promise<Map<string, RecordedVersion>> {
    const found = new Map<string, RecordedVersion>();
    for (let i = 0; i < paths.length; i += CHUNK) {
      const rows = await this.database.db
        .selectFrom("archive_files")
        .select(["path", "size", "mtime_ms", "state"])
        .where("path", "in", paths.slice(i, i + CHUNK))
        .execute();
      for (const row of rows) {
        found.set(row.path, { size: Number(row.size), mtimeMs: Number(row.mtime_ms), state: row.state });
      }
    }
    return found;
  }

  /** Records files, replacing what was recorded for the same path (an upsert on SQLite and PostgreSQL). */
  async record(records: readonly ArchiveFileRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += CHUNK) {
      const rows = records.slice(i, i + CHUNK).map((r) => ({
        path: r.path,
        instrument: r.instrument,
        run_number: r.runNumber,
        size: r.size,
        mtime_ms: r.mtimeMs,
        state: r.state,
        note: r.note,
        recorded_at: r.recordedAt,
      }));
      await this.database.db
        .insertInto("archive_files")
        .values(rows)
        .onConflict((oc) =>
          oc.column("path").doUpdateSet((eb) => ({
            instrument: eb.ref("excluded.instrument"),
            run_number: eb.ref("excluded.run_number"),
            size: eb.ref("excluded.size"),
            mtime_ms: eb.ref("excluded.mtime_ms"),
            state: eb.ref("excluded.state"),
            note: eb.ref("excluded.note"),
            recorded_at: eb.ref("excluded.recorded_at"),
          })),
        )
        .execute();
    }
  }
}

/** True when `recorded` is exactly this version of the file (same size and mtime). */
export function isRecordedVersion(
  recorded: RecordedVersion | undefined,
  file: { size: number; mtimeMs: number },
): boolean {
  return recorded !== undefined && recorded.size === file.size && recorded.mtimeMs === file.mtimeMs;
}
