import { accessSync, constants, mkdirSync } from "node:fs";
import { findExecutable } from "./script-location.ts";

/**
 * Checks that must pass before a script runs: the data file is readable, the output and log
 * folders can be created and written, the interpreter exists. A failure here is not the
 * script's fault. Returns the problem in words, or null.
 */
export function checkBeforeRun(
  dataFile: string,
  folders: string[],
  interpreter: string,
  path?: string,
): string | null {
  try {
    accessSync(dataFile, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT"
      ? `Data file not found: ${dataFile}`
      : `Data file permission denied: ${dataFile} (${code})`;
  }
  for (const folder of folders) {
    try {
      mkdirSync(folder, { recursive: true });
      accessSync(folder, constants.W_OK);
    } catch (e) {
      return `output folder ${folder} cannot be created or written (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
    }
  }
  if (!findExecutable(interpreter, path))
    return `interpreter not found: ${interpreter} (check scripts.interpreter or PATH)`;
  return null;
}
