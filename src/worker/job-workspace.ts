import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { ReductionJob } from "../messages/reduction-job.ts";
import { packageFile } from "../package-files.ts";
import { type ReduceVarsModule, renderReduceVarsModule } from "../scripts/python-literal.ts";

const ISIS_RUNNER = packageFile("src", "scripts", "isis_runner.py");
const SNS_RUNNER = packageFile("src", "scripts", "sns_runner.py");

/** A scratch folder for one job: the script to run, the generated variables, the runner's result. */
export interface JobWorkspace {
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
 * Prepares what a job runs (the caller has checked that a job carrying `script` or `variables` is
 * signed by the coordinator). Variables reach the script as data: a generated `reduce_vars.py`
 * holding only literals rendered from JSON (never text pasted into code), first on PYTHONPATH,
 * plus `reduce_vars.json` named by `AUTOREDUCE_VARS_JSON` for scripts in other languages.
 */
export function prepareWorkspace(job: ReductionJob, fallbackScript: string): JobWorkspace {
  const dir = mkdtempSync(join(tmpdir(), "autoreduce-job-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    return fillWorkspace(job, fallbackScript, dir, remove);
  } catch (e) {
    remove(); // a full disk must not leave half a workspace behind
    throw e;
  }
}

function fillWorkspace(
  job: ReductionJob,
  fallbackScript: string,
  dir: string,
  remove: () => void,
): JobWorkspace {
  const varsDir = join(dir, "vars");
  mkdirSync(varsDir);
  const vars = (job.variables ?? { standard_vars: {}, advanced_vars: {} }) as unknown as ReduceVarsModule;
  writeFileSync(join(varsDir, "reduce_vars.py"), renderReduceVarsModule(vars));
  writeFileSync(
    join(varsDir, "reduce_vars.json"),
    `${JSON.stringify({ standard_vars: vars.standard_vars, advanced_vars: vars.advanced_vars }, null, 2)}\n`,
  );
  const script = job.script ? scriptToRun(job.script, dir) : fallbackScript;
  const original = job.script?.path ?? fallbackScript;
  const tmpDir = join(dir, "tmp");
  mkdirSync(tmpDir);
  return {
    script,
    varsDir,
    resultFile: join(dir, "result.json"),
    pythonPath: [varsDir, dirname(original)],
    varsJson: join(varsDir, "reduce_vars.json"),
    tmpDir,
    remove,
  };
}

/** The instrument's file if it still holds the recorded text (the usual case), else a copy of the text. */
function scriptToRun(script: { path: string; text: string; hash: string }, dir: string): string {
  try {
    if (existsSync(script.path) && sha256(readFileSync(script.path, "utf8")) === script.hash)
      return script.path;
  } catch {
    // unreadable now: run the recorded text
  }
  const copy = join(dir, "script", basename(script.path));
  mkdirSync(dirname(copy));
  writeFileSync(copy, script.text);
  return copy;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The command line for a job: the SNS call, or the ISIS runner around `main(input_file, output_dir)`. */
export function commandFor(
  job: ReductionJob,
  workspace: JobWorkspace,
  interpreter: string,
  outputDir: string,
): { command: string; args: string[] } {
  // SNS passes the output folder with a trailing slash; scripts rely on it.
  const out = outputDir.endsWith("/") ? outputDir : `${outputDir}/`;
  if (job.convention === "isis") {
    return {
      command: interpreter,
      args: [ISIS_RUNNER, workspace.script, job.data_file, out, workspace.varsDir, workspace.resultFile],
    };
  }
  // A Python script is started through a tiny runner that makes the generated reduce_vars win
  // over one lying beside the script (Python would otherwise look in the script's folder first).
  if (workspace.script.endsWith(".py")) {
    return {
      command: interpreter,
      args: [SNS_RUNNER, workspace.script, workspace.varsDir, job.data_file, out],
    };
  }
  return { command: interpreter, args: [workspace.script, job.data_file, out] };
}

/** The ISIS runner's extra output folders (what `main` returned); empty when there is no result. */
export function additionalOutputDirs(workspace: JobWorkspace): string[] {
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
