import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { PathPattern } from "../config/path-pattern.ts";

/** A regular file found by a walk, with what identifies its content version. */
export interface FoundFile {
  path: string;
  size: number;
  /** Modification time in whole milliseconds (what `archive_files.mtime_ms` holds). */
  mtimeMs: number;
}

export interface WalkOptions {
  /** Checked between folders; a walk that should stop returns early. */
  shouldStop?: () => boolean;
  /** A folder or file that could not be read (other than one that does not exist). */
  onError?: (path: string, error: unknown) => void;
}

/** Files stat-ed at once within one folder. */
const STAT_CONCURRENCY = 32;

/**
 * Walks `root` guided by the pattern's segments: a literal segment is descended into directly,
 * any other is listed and filtered by its regex, so folders that cannot hold the instrument's
 * files are never read. Yields the matching regular files one folder at a time (symbolic links
 * are followed). Missing folders are skipped silently: an instrument without data yet is normal.
 */
export async function* walkPattern(
  root: string,
  pattern: PathPattern,
  options: WalkOptions = {},
): AsyncGenerator<FoundFile[]> {
  yield* walkFrom(root, 0, pattern, options);
}

async function* walkFrom(
  dir: string,
  index: number,
  pattern: PathPattern,
  options: WalkOptions,
): AsyncGenerator<FoundFile[]> {
  const segment = pattern.segments[index];
  if (!segment || options.shouldStop?.()) return;
  const last = index === pattern.segments.length - 1;
  let names: string[];
  if (segment.literal !== null) {
    names = [segment.literal];
  } else {
    const entries = await listFolder(dir, options);
    names = entries
      .filter((e) => (last ? !e.isDirectory() : e.isDirectory() || e.isSymbolicLink()))
      .map((e) => e.name)
      .filter((name) => segment.regex.test(name));
  }
  if (last) {
    const files = await statFiles(
      names.map((name) => join(dir, name)),
      options,
    );
    if (files.length > 0) yield files;
    return;
  }
  for (const name of names) yield* walkFrom(join(dir, name), index + 1, pattern, options);
}

async function listFolder(dir: string, options: WalkOptions): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    // Missing: nothing there yet. Not a folder: a symbolic link or name that only looked like one.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") options.onError?.(dir, e);
    return [];
  }
}

async function statFiles(paths: string[], options: WalkOptions): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  for (let i = 0; i < paths.length; i += STAT_CONCURRENCY) {
    const chunk = await Promise.all(paths.slice(i, i + STAT_CONCURRENCY).map((p) => statFile(p, options)));
    for (const file of chunk) if (file) found.push(file);
  }
  return found;
}

/** The file's size and mtime, or null if it is gone or not a regular file. */
export async function statFile(path: string, options: WalkOptions = {}): Promise<FoundFile | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? { path, size: s.size, mtimeMs: Math.floor(s.mtimeMs) } : null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") options.onError?.(path, e);
    return null;
  }
}
