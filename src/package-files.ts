import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The package's own folder (the one with package.json), found from this module's location, so
 * that helper files (the launcher, the Python runners, the demo script) are found the same way
 * from the TypeScript sources and from the bundle in `dist/`.
 */
export const PACKAGE_ROOT = findPackageRoot(import.meta.dirname);

/** A file shipped with the package, by its path from the package root. */
export function packageFile(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}
