import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * Files in the output folder written since `since` (the reduction's outputs), skipping the
 * `reduction_log` folder, at most `depth` folders deep, sorted.
 */
export function outputFilesSince(dir: string, since: Date, depth = 3): string[] {
  const found: string[] = [];
  const threshold = since.getTime() - 1000;
  const walk = (folder: string, level: number) => {
    let entries: string[];
    try {
      entries = readdirSync(folder);
    } catch {
      return;
    }
    for (const name of entries) {
      const full = join(folder, name);
      try {
        const st = statSync(full);
        if (st.isDirectory()) {
          if (level < depth && !(level === 0 && name === "reduction_log")) walk(full, level + 1);
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
