import { join } from "node:path";
import { fillTemplate, instrumentSettings } from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";

/**
 * The folder a reduction writes into: `output.root` + the instrument's `output_dir` template
 * (default SNS: `{instrument}/{experiment}/shared/autoreduce`), plus `run-version-<N>` when the
 * instrument has `versioned_output` (ISIS), so that versions never overwrite each other.
 */
export function outputDirFor(
  config: Config,
  run: { instrument: string; ipts: string; facility: string; run_number: number },
  version: number,
): string {
  const settings = instrumentSettings(config, run.instrument);
  const template = settings?.outputDir ?? config.output.dir;
  const values = {
    instrument: run.instrument,
    experiment: run.ipts,
    facility: run.facility,
    run: run.run_number,
  };
  const dir = join(config.output.root, fillTemplate(template, values));
  return settings?.versionedOutput ? join(dir, `run-version-${version}`) : dir;
}
