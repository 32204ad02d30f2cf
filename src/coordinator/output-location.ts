import { join } from "node:path";
import { fillTemplate, instrumentSettings, SNS_OUTPUT_DIR } from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";
import { insideRoot } from "../config/path-pattern.ts";
import { InvalidMessageError } from "../messages/message-error.ts";
import { pathComponentProblem } from "../messages/path-component.ts";

/**
 * A run's names would put its output folder outside `output.root`. The names are validated
 * where they enter (messages/path-component.ts); this is the second line of defence, for rows
 * recorded before that check existed and for templates that misbehave. Retrying cannot help.
 */
export class OutputOutsideRootError extends InvalidMessageError {
  override readonly name = "OutputOutsideRootError";
}

/**
 * The folder a reduction writes into: `output.root` + the instrument's `output_dir` template
 * (default SNS: `{instrument}/{experiment}/shared/autoreduce`; ISIS:
 * `{instrument}/RBNumber/RB{experiment}/autoreduced/{run}`), plus `run-version-<N>` when the
 * instrument has `versioned_output` (default for ISIS), so that versions never overwrite each other.
 * Throws OutputOutsideRootError when a name is not a safe path component or the folder would
 * not lie strictly inside `output.root`.
 */
export function outputDirFor(
  config: Config,
  run: { instrument: string; ipts: string; facility: string; run_number: number },
  version: number,
): string {
  const values = {
    instrument: run.instrument,
    experiment: run.ipts,
    facility: run.facility,
    run: run.run_number,
  };
  for (const [field, value] of [
    ["instrument", run.instrument],
    ["experiment", run.ipts],
  ] as const) {
    const problem = pathComponentProblem(value);
    if (problem) throw new OutputOutsideRootError(`${field} ${problem}`);
  }
  const settings = instrumentSettings(config, run.instrument);
  const template = settings?.outputDir ?? config.output.dir ?? SNS_OUTPUT_DIR;
  const dir = join(config.output.root, fillTemplate(template, values));
  if (insideRoot(config.output.root, dir) === null) {
    throw new OutputOutsideRootError(
      `the output folder ${dir} of ${run.instrument} run ${run.run_number} is not inside output.root (${config.output.root})`,
    );
  }
  return settings?.versionedOutput ? join(dir, `run-version-${version}`) : dir;
}
