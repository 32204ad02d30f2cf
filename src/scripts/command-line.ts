import { packageFile } from "../package-files.ts";
import type { ScriptWorkspace } from "./script-workspace.ts";

const ISIS_RUNNER = packageFile("src", "scripts", "isis_runner.py");
const SNS_RUNNER = packageFile("src", "scripts", "sns_runner.py");

/** How a script is called, by convention. */
export type Invocation =
  /**
   * `sns`: `<interpreter> <script> <data_file> <output_dir>/`; `isis`: the ISIS runner calls
   * `main(input_file, output_dir)` in the script. Both write into the run's output folder.
   */
  | { convention: "sns" | "isis"; dataFile: string; outputDir: string }
  /** `plain`: `<interpreter> <script> <args...>`, arguments as given (a watch step, a live session). */
  | { convention: "plain"; args: readonly string[] };

/** The names of the conventions, for schemas and messages. */
export const CONVENTIONS = ["sns", "isis", "plain"] as const;

export type Convention = (typeof CONVENTIONS)[number];

/** A program and its arguments. */
export interface CommandLine {
  command: string;
  args: string[];
}

/**
 * The command line of a job, by its convention: the SNS call, the ISIS runner around
 * `main(input_file, output_dir)`, or the script with the caller's arguments. A pure decision.
 */
export function commandLine(
  invocation: Invocation,
  workspace: Pick<ScriptWorkspace, "script" | "varsDir" | "resultFile">,
  interpreter: string,
): CommandLine {
  if (invocation.convention === "plain") {
    return { command: interpreter, args: [workspace.script, ...invocation.args] };
  }
  // SNS passes the output folder with a trailing slash; scripts rely on it.
  const out = invocation.outputDir.endsWith("/") ? invocation.outputDir : `${invocation.outputDir}/`;
  if (invocation.convention === "isis") {
    return {
      command: interpreter,
      args: [
        ISIS_RUNNER,
        workspace.script,
        invocation.dataFile,
        out,
        workspace.varsDir,
        workspace.resultFile,
      ],
    };
  }
  // A Python script is started through a tiny runner that makes the generated reduce_vars win
  // over one lying beside the script (Python would otherwise look in the script's folder first).
  if (workspace.script.endsWith(".py")) {
    return {
      command: interpreter,
      args: [SNS_RUNNER, workspace.script, workspace.varsDir, invocation.dataFile, out],
    };
  }
  return { command: interpreter, args: [workspace.script, invocation.dataFile, out] };
}

/** The path of a runner shipped with the package (for tests and docs). */
export const RUNNERS = { isis: ISIS_RUNNER, sns: SNS_RUNNER } as const;
