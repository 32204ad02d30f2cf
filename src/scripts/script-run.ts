import { delimiter } from "node:path";
import { instrumentSettings } from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";
import type { ExecutionSpec } from "../executors/executor.ts";
import { commandLine, type Invocation } from "./command-line.ts";
import type { ReduceVarsModule } from "./python-literal.ts";
import { scriptEnvironment } from "./script-environment.ts";
import { scriptLimits } from "./script-limits.ts";
import { prepareWorkspace, type ScriptSource, type ScriptWorkspace } from "./script-workspace.ts";

/**
 * What to run, in terms any caller has — a reduction, a watch step (a calibration), a live
 * session. Everything here comes from the caller's own configuration or from a job it has
 * authenticated; nothing is taken from an unauthenticated message.
 */
export interface ScriptRunRequest {
  /** Names the job (`AUTOREDUCE_JOB_ID`); "" when there is none. */
  jobId: string;
  /** The instrument whose settings apply: interpreter, limits (`AUTOREDUCE_INSTRUMENT`). */
  instrument: string;
  /** The script: a file, or recorded text + hash that runs when the file no longer holds it. */
  script: ScriptSource;
  /** How it is called: `sns` or `isis` (data file and output folder) or `plain` (arguments). */
  invocation: Invocation;
  /**
   * The script's variables, written as a generated `reduce_vars.py` (first on PYTHONPATH) and
   * `reduce_vars.json`; absent: empty `standard_vars` and `advanced_vars`.
   */
  variables?: ReduceVarsModule | null | undefined;
  /** The folder the script runs in and writes into (`AUTOREDUCE_OUTPUT_DIR`, the working directory). */
  outputDir: string;
  /** Files that receive stdout and stderr. */
  logFiles: { stdout: string; stderr: string };
  /**
   * The program that runs the script; absent: the instrument's `interpreter`, else
   * `scripts.interpreter`. The caller takes it from its own configuration, never from a message.
   */
  interpreter?: string | undefined;
  /**
   * More variables for the script (a reduction adds `AUTOREDUCE_RUN_NUMBER` and
   * `AUTOREDUCE_EXPERIMENT`); they win over the inherited ones, ours win over them.
   */
  env?: Readonly<Record<string, string>> | undefined;
}

/** A prepared run: what to give the executor, the workspace, and how to clear it afterwards. */
export interface ScriptRun {
  /** For `Executor.start` (and `attach`). */
  spec: ExecutionSpec;
  /** The scratch folder: the script that runs, generated variables, the ISIS runner's result. */
  workspace: ScriptWorkspace;
  /** Removes the workspace; call it once the script has ended (or did not start). */
  cleanup: () => void;
}

/**
 * Prepares one script run: the workspace (script, generated variables, private TMPDIR), the
 * command line per convention, the built environment (`script-environment.ts`), and the
 * instrument's limits (`script-limits.ts`). Throws what writing the workspace throws (a full disk:
 * `ENOSPC`), leaving nothing behind.
 */
export function prepareScriptRun(config: Config, request: ScriptRunRequest): ScriptRun {
  const instrument = request.instrument.toUpperCase();
  const interpreter =
    request.interpreter ?? instrumentSettings(config, instrument)?.interpreter ?? config.scripts.interpreter;
  const workspace = prepareWorkspace(request.script, request.variables);
  try {
    return {
      spec: specFor(config, request, instrument, interpreter, workspace),
      workspace,
      cleanup: workspace.remove,
    };
  } catch (e) {
    workspace.remove();
    throw e;
  }
}

function specFor(
  config: Config,
  request: ScriptRunRequest,
  instrument: string,
  interpreter: string,
  workspace: ScriptWorkspace,
): ExecutionSpec {
  const { command, args } = commandLine(request.invocation, workspace, interpreter);
  const { limits, logLimitBytes } = scriptLimits(config, instrument);
  const env = scriptEnvironment(
    process.env,
    { passthrough: config.worker.env_passthrough, fixed: config.worker.env },
    {
      instrument: request.instrument,
      outputDir: request.outputDir,
      jobId: request.jobId,
      tmpDir: workspace.tmpDir,
      pythonPath: workspace.pythonPath,
      varsJson: workspace.varsJson,
      extra: request.env ?? {},
    },
    delimiter,
  );
  return {
    command,
    args,
    cwd: request.outputDir,
    env,
    stdoutFile: request.logFiles.stdout,
    stderrFile: request.logFiles.stderr,
    tailLines: config.worker.log_tail_lines,
    limits,
    logLimitBytes,
  };
}
