import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { basename, isAbsolute, join, sep } from "node:path";
import type { Readable } from "node:stream";
import yazl from "yazl";
import { insideRoot } from "../../config/path-pattern.ts";
import type { VersionRow } from "./run-data.ts";

/**
 * The reduced files of a version, as people may download them: only files the worker recorded
 * (`output_files`), named relative to the version's output folder, and only while they really lie
 * inside it. Every name is checked before any file is touched (no `..`, no absolute path), then
 * its real path (links followed) must stay inside the real output folder, which itself must lie
 * inside the configured `output.root`: a recorded path or a link cannot lead elsewhere.
 */

/** A file that may be served, or why not (status 400 for a bad name, 404 for one that is not served). */
export type OutputFile =
  | { ok: true; name: string; path: string; size: number }
  | { ok: false; status: 400 | 404; reason: string };

/** A file as the run page lists it: its size when it may be downloaded, else why not. */
export interface ListedFile {
  name: string;
  size: number | null;
  problem: string | null;
}

/** The recorded files of a version by their name inside its output folder (others are never served). */
export function outputNames(version: Pick<VersionRow, "output_dir" | "output_files">): string[] {
  const dir = version.output_dir;
  if (!dir) return [];
  const names = new Set<string>();
  for (const file of version.output_files) {
    const rel = isAbsolute(file) ? insideRoot(dir, file) : nameProblem(file) === null ? file : null;
    if (rel !== null) names.add(rel.split(sep).join("/"));
  }
  return [...names];
}

/** Why a requested name is not a plain name inside a folder, or null when it is. */
export function nameProblem(name: string): string | null {
  if (name === "") return "no file name given";
  if (name.includes("\0")) return "a file name cannot contain a NUL character";
  if (name.includes("\\")) return "a file name cannot contain a backslash";
  if (name.startsWith("/") || /^[a-zA-Z]:/.test(name))
    return "give the file's name inside the output folder, not an absolute path";
  const parts = name.split("/");
  if (parts.some((p) => p === ".." || p === "." || p === ""))
    return "a file name cannot contain '..', '.' or empty parts: it must name a file inside the output folder";
  return null;
}

/** Checks one requested file of a version and finds its real path. */
export async function outputFile(
  outputRoot: string,
  version: Pick<VersionRow, "output_dir" | "output_files" | "version">,
  name: string,
): Promise<OutputFile> {
  return checkFile(
    await realFolder(outputRoot, version.output_dir),
    new Set(outputNames(version)),
    version.version,
    name,
  );
}

/** `outputFile` with the output folder already checked (a listing checks it once for all its files). */
async function checkFile(
  folder: Awaited<ReturnType<typeof realFolder>>,
  recorded: ReadonlySet<string>,
  version: number,
  name: string,
): Promise<OutputFile> {
  const problem = nameProblem(name);
  if (problem) return { ok: false, status: 400, reason: `Not a file name this page serves: ${problem}.` };
  if (!recorded.has(name))
    return {
      ok: false,
      status: 404,
      reason: `"${name}" is not one of the files version ${version} wrote; the run page lists those.`,
    };
  if (!folder.ok) return folder;
  let real: string;
  try {
    real = await realpath(join(folder.path, name));
  } catch {
    return {
      ok: false,
      status: 404,
      reason: `"${name}" is no longer in the output folder (moved or deleted).`,
    };
  }
  if (insideRoot(folder.path, real) === null)
    return {
      ok: false,
      status: 404,
      reason: `"${name}" is a link to somewhere outside this run's output folder: it is not served.`,
    };
  const st = await stat(real).catch(() => null);
  if (!st?.isFile()) return { ok: false, status: 404, reason: `"${name}" is not a regular file.` };
  return { ok: true, name, path: real, size: st.size };
}

/** The real output folder of a version, refused unless inside the real output root. */
async function realFolder(
  outputRoot: string,
  dir: string | null,
): Promise<{ ok: true; path: string } | { ok: false; status: 404; reason: string }> {
  if (!dir) return { ok: false, status: 404, reason: "This version has no output folder." };
  try {
    const [root, folder] = await Promise.all([realpath(outputRoot), realpath(dir)]);
    if (insideRoot(root, folder) !== null) return { ok: true, path: folder };
  } catch {
    return { ok: false, status: 404, reason: `The output folder ${dir} does not exist (any more).` };
  }
  return {
    ok: false,
    status: 404,
    reason: `The output folder ${dir} is outside the facility's output area: its files are not served here.`,
  };
}

/** The files of a version for the run page (at most `limit`), how many are recorded and how many may be downloaded. */
export async function listOutputFiles(
  outputRoot: string,
  version: Pick<VersionRow, "output_dir" | "output_files" | "version">,
  limit = 500,
): Promise<OutputListing> {
  const names = outputNames(version);
  const folder = await realFolder(outputRoot, version.output_dir);
  const recorded = new Set(names);
  const found = await Promise.all(names.map((name) => checkFile(folder, recorded, version.version, name)));
  const files = found.slice(0, limit).map((f, i) => ({
    name: names[i] ?? "",
    size: f.ok ? f.size : null,
    problem: f.ok ? null : f.reason,
  }));
  return { files, total: names.length, servable: found.filter((f) => f.ok).length };
}

/** A version's files as the run page lists them. */
export interface OutputListing {
  files: ListedFile[];
  /** Recorded files inside the output folder. */
  total: number;
  /** Of those, the ones that may be downloaded (what the zip holds). */
  servable: number;
}

/** `Content-Disposition` for a download of this name (any characters, RFC 6266/5987). */
export function attachment(name: string): string {
  const base = basename(name);
  const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}

/** Files whose content is already compressed (or large binary data): stored, not deflated again. */
const STORED = /\.(nxs|nxspe|h5|hdf5|hdf|nx5|gz|bz2|xz|zst|zip|png|jpe?g|gif|tiff?)$/i;

/**
 * A zip of every servable file of a version, streamed as it is made. Each file is checked again
 * just before it is read: one that meanwhile went away or became a link to elsewhere ends the
 * download with an error rather than be read.
 */
export async function zipOutput(
  outputRoot: string,
  version: Pick<VersionRow, "output_dir" | "output_files" | "version">,
): Promise<{ stream: Readable; count: number } | null> {
  const found = (
    await Promise.all(outputNames(version).map((n) => outputFile(outputRoot, version, n)))
  ).filter((f) => f.ok);
  if (found.length === 0) return null;
  const zip = new yazl.ZipFile();
  for (const file of found) {
    zip.addReadStreamLazy(file.name, { compress: !STORED.test(file.name) }, (callback) => {
      outputFile(outputRoot, version, file.name).then(
        (again) =>
          again.ok
            ? callback(null, createReadStream(again.path))
            : callback(new Error(again.reason), undefined as unknown as Readable),
        (e: unknown) => callback(e, undefined as unknown as Readable),
      );
    });
  }
  zip.end();
  return { stream: zip.outputStream as Readable, count: found.length };
}

/** Whether a path (a log file) lies inside the output root once links are followed. */
export async function insideOutputRoot(outputRoot: string, path: string): Promise<string | null> {
  try {
    const [root, real] = await Promise.all([realpath(outputRoot), realpath(path)]);
    return insideRoot(root, real) === null ? null : real;
  } catch {
    return null;
  }
}
