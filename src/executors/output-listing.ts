import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The folder of a job's logs, directly under its output folder: never output. */
const LOG_FOLDER = "reduction_log";

/**
 * Files in the output folder written since `since` (the reduction's outputs), at most `depth`
 * folders deep, sorted. Folders directly under `dir` named `reduction_log` or in `skip` are not
 * looked into: a folder that holds a file per run (the job ledgers) would otherwise cost a `stat`
 * per earlier run of the experiment on every job.
 */
export function outputFilesSince(
  dir: string,
  since: Date,
  skip: readonly string[] = [],
  depth = 3,
): string[] {
  const found: string[] = [];
  const threshold = since.getTime() - 1000;
  const walk = (folder: string, level: number) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(folder, entry.name);
      if (level === 0 && (entry.name === LOG_FOLDER || skip.includes(entry.name))) continue;
      if (entry.isDirectory()) {
        if (level < depth) walk(full, level + 1);
        continue;
      }
      try {
        const st = statSync(full); // follows a symbolic link, as the listing always has
        if (st.isDirectory()) {
          if (level < depth) walk(full, level + 1);
        } else if (st.isFile() && st.mtimeMs >= threshold) {
          found.push(full);
        }
      } catch {
        // vanished meanwhile
      }
    }
  };
  walk(dir, 0);
  return found.sort();
}
