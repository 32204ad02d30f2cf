import { copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";

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

/**
 * Copies a reduction's output files into the extra folders its script asked for (ISIS `main`
 * may return them), keeping paths relative to the output folder. Returns the folders written.
 */
export function copyToAdditionalDirs(files: string[], outputDir: string, dirs: string[]): string[] {
  for (const dir of dirs) {
    for (const file of files) {
      const target = join(dir, relative(outputDir, file));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(file, target);
    }
  }
  return dirs;
}
