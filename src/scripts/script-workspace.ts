import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { type ReduceVarsModule, renderReduceVarsModule } from "./python-literal.ts";

/**
 * The script a job runs: a file, or text recorded earlier (with its hash) that runs instead of the
 * file when the file no longer holds it.
 */
export interface ScriptSource {
  /** The script's file (for a recorded script: where it was read from). */
  path: string;
  /** The recorded text; absent: the file as it is now. */
  text?: string | undefined;
  /** sha256 (hex) of `text`. */
  hash?: string | undefined;
}

/** A scratch folder for one job: the script to run, the generated variables, the runner's result. */
export interface ScriptWorkspace {
  /** The script file to run: the instrument's file when unchanged, else the stored text. */
  script: string;
  /** Folder with the generated `reduce_vars.py` and `reduce_vars.json`. */
  varsDir: string;
  /** Where the ISIS runner writes its result. */
  resultFile: string;
  /** Folders for PYTHONPATH: the generated variables first, then the script's own folder. */
  pythonPath: string[];
  /** `reduce_vars.json`, named by `AUTOREDUCE_VARS_JSON`. */
  varsJson: string;
  /** The job's private temporary folder (the script's `TMPDIR`), removed with the workspace. */
  tmpDir: string;
  remove(): void;
}

/**
 * Prepares what a job runs (the caller has checked that recorded script text and variables come
 * from a source it trusts, e.g. a job signed by the coordinator). Variables reach the script as data: a generated `reduce_vars.py`
 * holding only literals rendered from JSON (never text pasted into code), first on PYTHONPATH,
 * plus `reduce_vars.json` named by `AUTOREDUCE_VARS_JSON` for scripts in other languages.
 */
export function prepareWorkspace(
  source: ScriptSource,
  variables: ReduceVarsModule | null | undefined,
): ScriptWorkspace {
  const dir = mkdtempSync(join(tmpdir(), "autoreduce-job-"));
  try {
    return fillWorkspace(source, variables, dir);
  } catch (e) {
    removeTree(dir); // a full disk must not leave half a workspace behind
    throw e;
  }
}

/** Removes a whole folder, whatever it holds; quiet if it is gone. */
function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes a workspace folder that holds `files` in `folders` (deepest first, the workspace last):
 * entry by entry when it holds nothing else, as after most jobs, else the whole tree. Node's
 * recursive `rmSync` first tries `rmdir` on every folder and reads it when that fails, twice the
 * system calls, which was the largest single cost of a no-op job in the worker (issue 11).
 */
function removeWorkspace(dir: string, files: readonly string[], folders: readonly string[]): void {
  try {
    for (const file of files) unlinkIfPresent(file);
    for (const folder of folders) rmdirSync(folder);
  } catch {
    removeTree(dir); // something more was left (a script's temporary files, __pycache__)
  }
}

function unlinkIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

function fillWorkspace(
  source: ScriptSource,
  variables: ReduceVarsModule | null | undefined,
  dir: string,
): ScriptWorkspace {
  const varsDir = join(dir, "vars");
  mkdirSync(varsDir);
  const vars = variables ?? { standard_vars: {}, advanced_vars: {} };
  writeFileSync(join(varsDir, "reduce_vars.py"), renderReduceVarsModule(vars));
  writeFileSync(
    join(varsDir, "reduce_vars.json"),
    `${JSON.stringify({ standard_vars: vars.standard_vars, advanced_vars: vars.advanced_vars }, null, 2)}\n`,
  );
  const script =
    source.text !== undefined ? scriptToRun(source.path, source.text, source.hash ?? "", dir) : source.path;
  const tmpDir = join(dir, "tmp");
  mkdirSync(tmpDir);
  const resultFile = join(dir, "result.json");
  const files = [join(varsDir, "reduce_vars.py"), join(varsDir, "reduce_vars.json"), resultFile];
  const folders = [varsDir, tmpDir];
  if (script !== source.path) {
    files.push(script);
    folders.push(dirname(script));
  }
  folders.push(dir);
  return {
    script,
    varsDir,
    resultFile,
    pythonPath: [varsDir, dirname(source.path)],
    varsJson: join(varsDir, "reduce_vars.json"),
    tmpDir,
    remove: () => removeWorkspace(dir, files, folders),
  };
}

/** The instrument's file if it still holds the recorded text (the usual case), else a copy of the text. */
function scriptToRun(path: string, text: string, hash: string, dir: string): string {
  try {
    if (existsSync(path) && sha256(readFileSync(path, "utf8")) === hash) return path;
  } catch {
    // unreadable now: run the recorded text
  }
  const copy = join(dir, "script", basename(path));
  mkdirSync(dirname(copy));
  writeFileSync(copy, text);
  return copy;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The ISIS runner's extra output folders (what `main` returned); empty when there is no result. */
export function additionalOutputDirs(workspace: ScriptWorkspace): string[] {
  try {
    const result = JSON.parse(readFileSync(workspace.resultFile, "utf8")) as {
      additional_output_dirs?: unknown;
    };
    return Array.isArray(result.additional_output_dirs)
      ? result.additional_output_dirs.filter((d) => typeof d === "string")
      : [];
  } catch {
    return [];
  }
}
