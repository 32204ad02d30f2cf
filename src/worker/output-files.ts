import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";

/** Listing a job's outputs is the executor's business (they may be remote); the local walk lives there. */
export { outputFilesSince } from "../executors/output-listing.ts";

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
