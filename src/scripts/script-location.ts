import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  fillTemplate,
  instrumentSettings,
  SNS_OUTPUT_DIR,
  scriptFolder,
} from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";
import type { ReductionJob } from "../messages/reduction-job.ts";

/** What the worker runs for a job, derived from its config (the SNS conventions by default). */
export interface ScriptLocation {
  /** `<scripts.root>/<scripts.folder>/<script file>`, or the stored script's path (a signed job). */
  script: string;
  /** From the worker's configuration only (the instrument's, else `scripts.interpreter`). */
  interpreter: string;
  convention: "sns" | "isis";
  /** The folder the script writes into (from the job, else the configured template). */
  outputDir: string;
}

export function locateScript(config: Config, job: ReductionJob): ScriptLocation {
  const instrument = job.instrument.toUpperCase();
  const settings = instrumentSettings(config, instrument);
  const scriptFile = settings?.scriptFile ?? config.scripts.file.replaceAll("{instrument}", instrument);
  const values = {
    instrument,
    experiment: job.ipts.toUpperCase(),
    facility: job.facility,
    run: job.run_number,
  };
  return {
    // `resolve`: an instrument's `script` may be an absolute path (an HFIR instrument served beside SNS ones).
    script: job.script?.path ?? resolve(scriptFolder(config, instrument), scriptFile),
    // Never the job's `interpreter`: whoever can publish a job must not choose the program.
    interpreter: settings?.interpreter ?? config.scripts.interpreter,
    convention: job.convention ?? settings?.convention ?? "sns",
    outputDir:
      job.output_dir ??
      join(
        config.output.root,
        fillTemplate(settings?.outputDir ?? config.output.dir ?? SNS_OUTPUT_DIR, values),
      ),
  };
}

/** True when the script exists as a regular file: its presence is what enables reduction. */
export function scriptPresent(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
