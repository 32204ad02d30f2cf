import { join } from "node:path";
import { fillTemplate, instrumentSettings } from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";

/**
 * The folder a reduction writes into: `output.root` + the instrument's `output_dir` template
 * (default SNS: `{instrument}/{experiment}/shared/autoreduce`). The version is accepted now so
 * that per-version folders (ISIS `run-version-N`) can be added without changing callers.
 */
export function outputDirFor(
  config: Config,
  run: { instrument: string; ipts: string; facility: string; run_number: number },
  _version: number,
): string {
  const template = instrumentSettings(config, run.instrument)?.outputDir ?? config.output.dir;
  const values = {
    instrument: run.instrument,
    experiment: run.ipts,
    facility: run.facility,
    run: run.run_number,
  };
  return join(config.output.root, fillTemplate(template, values));
}
