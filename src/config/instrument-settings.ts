import { join } from "node:path";
import type { WorkersKindName } from "./config-schema.ts";
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
  /** The instrument's script folder, `<scripts.root>/<INST>`. */
  scriptDir: string;
  /** `<scriptDir>/<vars file>`. */
  varsFile: string;
  /** Who serves the instrument's jobs unless a routing rule says otherwise. */
  workers: WorkersKindName;
  /** Who decides whether a script exists, when set; null: decided by the route's workers. */
  scriptCheck: "coordinator" | "worker" | null;
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
    scriptDir: join(config.scripts.root, name),
    varsFile: join(config.scripts.root, name, config.scripts.vars_file),
    workers: own.workers ?? "autoreduce",
    scriptCheck: own.script_check ?? null,
  };
}

/** Fills `{instrument}`, `{experiment}`, `{facility}`, `{run}` in a template. */
export function fillTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = values[key];
    return value === undefined ? whole : String(value);
  });
}
