import { join } from "node:path";
import type { Config } from "./load-config.ts";

/** The SNS archive layout, relative to an archive root. */
export const SNS_PATTERN = "{instrument}/{experiment}/nexus/{instrument}_{run}.nxs.h5";

/** Everything the parts need to know about one instrument, with the defaults filled in. */
export interface InstrumentSettings {
  name: string;
  facility: string;
  pattern: string;
  prefix: string;
  interpreter: string;
  /** Script file name (placeholders replaced). */
  scriptFile: string;
  /** Output folder template relative to `output.root`. */
  outputDir: string;
  convention: "sns" | "isis";
  versionedOutput: boolean;
  /** The instrument's script folder, `<scripts.root>/<scripts.folder>` (default `<scripts.root>/<INST>`). */
  scriptDir: string;
  /** `<scriptDir>/<vars file>`. */
  varsFile: string;
}

/** The settings of a configured instrument, or null if the instrument is not configured. */
export function instrumentSettings(config: Config, name: string): InstrumentSettings | null {
  const own = config.instruments[name];
  if (!own) return null;
  return {
    name,
    facility: own.facility ?? config.facility,
    pattern: own.pattern ?? SNS_PATTERN,
    prefix: own.prefix ?? name,
    interpreter: own.interpreter ?? config.scripts.interpreter,
    scriptFile: (own.script ?? (own.convention === "isis" ? "reduce.py" : config.scripts.file)).replaceAll(
      "{instrument}",
      name,
    ),
    outputDir: own.output_dir ?? config.output.dir,
    convention: own.convention,
    versionedOutput: own.versioned_output,
    scriptDir: scriptFolder(config, name),
    varsFile: join(scriptFolder(config, name), config.scripts.vars_file),
  };
}

/** An instrument's script folder: `scripts.folder` (default `{instrument}`) inside `scripts.root`. */
export function scriptFolder(config: Config, instrument: string): string {
  return join(config.scripts.root, config.scripts.folder.replaceAll("{instrument}", instrument));
}

/** Fills `{instrument}`, `{experiment}`, `{facility}`, `{run}` in a template. */
export function fillTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = values[key];
    return value === undefined ? whole : String(value);
  });
}
