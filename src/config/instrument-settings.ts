import { join } from "node:path";
import type { WorkersKindName } from "./config-schema.ts";
import type { Config } from "./load-config.ts";

/** The SNS archive layout, relative to an archive root. */
export const SNS_PATTERN = "{instrument}/{experiment}/nexus/{instrument}_{run}.nxs.h5";

/** Where SNS writes one experiment's reduced data, relative to `output.root`. */
export const SNS_OUTPUT_DIR = "{instrument}/{experiment}/shared/autoreduce";
/** Where ISIS writes one run's reduced data: `/instrument/<INST>/RBNumber/RB<rb>/autoreduced/<run>`. */
export const ISIS_OUTPUT_DIR = "{instrument}/RBNumber/RB{experiment}/autoreduced/{run}";

/** ISIS's experiment (RB) numbers: seven digits, the rule of ISIS's queue processor (999999 < RB < 10000000). */
export const ISIS_EXPERIMENT_PATTERN = "^\\d{7}$";
/** SNS and HFIR experiments: `IPTS-<digits>` (the intake upper-cases `ipts-1234`). */
export const SNS_EXPERIMENT_PATTERN = "^IPTS-\\d+$";

/** Everything the parts need to know about one instrument, with the defaults filled in. */
export interface InstrumentSettings {
  name: string;
  facility: string;
  /** Archive layouts (`instruments.<I>.pattern`, one or several); a file matching any is the instrument's. */
  patterns: string[];
  prefix: string;
  interpreter: string;
  /** Script file name (placeholders replaced). */
  scriptFile: string;
  /** Output folder template relative to `output.root`. */
  outputDir: string;
  convention: "sns" | "isis";
  versionedOutput: boolean;
  /** What a valid experiment of this instrument looks like; a run with another is recorded as skipped. */
  experimentPattern: RegExp;
  /** The instrument's script folder, `<scripts.root>/<scripts.folder>` (default `<scripts.root>/<INST>`). */
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
    patterns: typeof own.pattern === "string" ? [own.pattern] : (own.pattern ?? [SNS_PATTERN]),
    prefix: own.prefix ?? name,
    interpreter: own.interpreter ?? config.scripts.interpreter,
    scriptFile: (own.script ?? (own.convention === "isis" ? "reduce.py" : config.scripts.file)).replaceAll(
      "{instrument}",
      name,
    ),
    outputDir:
      own.output_dir ?? config.output.dir ?? (own.convention === "isis" ? ISIS_OUTPUT_DIR : SNS_OUTPUT_DIR),
    convention: own.convention,
    versionedOutput: own.versioned_output ?? own.convention === "isis",
    experimentPattern: new RegExp(
      own.experiment_pattern ??
        (own.convention === "isis" ? ISIS_EXPERIMENT_PATTERN : SNS_EXPERIMENT_PATTERN),
    ),
    scriptDir: scriptFolder(config, name),
    varsFile: join(scriptFolder(config, name), config.scripts.vars_file),
    workers: own.workers ?? "autoreduce",
    scriptCheck: own.script_check ?? null,
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
