import { packageFile } from "../package-files.ts";
import { findExecutable } from "./executable-path.ts";

/**
 * Which launcher starts a LocalExecutor's scripts. Both do the same duties and speak the same
 * protocol (one JSON object per line on stdin and stdout; see launcher.mjs):
 * - `python`: `launcher.py` under python3, ~10 MB resident. Preferred: a worker node's memory at
 *   rest is the worker plus its launcher, and a second Node process alone is ~40 MB.
 * - `node`: `launcher.mjs` under this Node, for a machine without python3.
 */
export type LauncherKind = "python" | "node";

export interface LauncherProgram {
  kind: LauncherKind;
  command: string;
  args: string[];
  /** For the worker's start-up log: "python3 (/usr/bin/python3)". */
  description: string;
}

const PYTHON_LAUNCHER = packageFile("src", "executors", "launcher.py");
const NODE_LAUNCHER = packageFile("src", "executors", "launcher.mjs");

/** The launcher asked for, or (none asked) the Python one when python3 is on PATH, else the Node one. */
export function chooseLauncher(
  wanted: LauncherKind | undefined = undefined,
  path = process.env.PATH ?? "",
): LauncherProgram {
  const python = wanted === "node" ? null : findExecutable("python3", path);
  if (python !== null)
    // -I: no user site, no PYTHON* variables (the worker's environment is not the launcher's
    // business); -S: no site module, which alone is a third of the process's memory.
    return {
      kind: "python",
      command: python,
      args: ["-I", "-S", PYTHON_LAUNCHER],
      description: `python3 (${python})`,
    };
  if (wanted === "python") throw new Error(`no python3 on PATH (${path}) for the Python launcher`);
  // execArgv is not passed: the launcher starts as plain Node, without this process's loaders.
  return {
    kind: "node",
    command: process.execPath,
    args: [NODE_LAUNCHER],
    description: `node (${process.execPath}; no python3 on PATH)`,
  };
}
