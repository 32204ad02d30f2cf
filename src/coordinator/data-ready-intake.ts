import { realpathSync, statSync } from "node:fs";
import { isAbsolute, normalize } from "node:path";
import { instrumentSettings } from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";
import { compilePathPattern, insideRoot } from "../config/path-pattern.ts";
import { type DataReady, DataReadySchema, decodeSnsPath } from "../messages/data-ready.ts";
import { InvalidMessageError, parseMessage, validateMessage } from "../messages/message-error.ts";
import { pathComponentProblem } from "../messages/path-component.ts";

/** A DATA_READY that passed every check at the edge. */
export interface AcceptedDataReady extends DataReady {
  instrument: string;
  ipts: string;
  /** The data file, normalised and checked to lie inside an archive root. */
  data_file: string;
  /** `<path>:<size>:<mtimeMs>` of the data file: the same notice for an unchanged file has the same key. */
  content_key: string;
  /**
   * Why the run is recorded as skipped and never reduced (its experiment is not a valid one for
   * the instrument, e.g. ISIS's calibration placeholder), or null for a run to reduce.
   */
  skip_reason: string | null;
}

/**
 * Validates a POSTPROCESS.DATA_READY body: JSON with the SNS fields, or (legacy STC form) a bare
 * file path decoded by the instrument layouts; the instrument must be configured, and the data
 * file must exist inside a configured archive root (symbolic links resolved). Throws
 * InvalidMessageError with a reason an operator can act on.
 */
export function acceptDataReady(body: string, config: Config): AcceptedDataReady {
  const trimmed = body.trim();
  const message = trimmed.startsWith("/")
    ? fromBarePath(trimmed, config)
    : parseMessage(DataReadySchema, body);
  const instrument = message.instrument.toUpperCase();
  if (!instrumentSettings(config, instrument)) {
    const known = Object.keys(config.instruments);
    throw new InvalidMessageError(
      `unknown instrument "${message.instrument}" (this deployment serves: ${known.length ? known.join(", ") : "none"}; add it under instruments: in the config)`,
    );
  }
  const { file, size, mtimeMs } = checkDataFile(message.data_file, config.archive.roots);
  const ipts = String(message.ipts).toUpperCase();
  return {
    ...message,
    instrument,
    ipts,
    data_file: file,
    content_key: `${file}:${size}:${Math.trunc(mtimeMs)}`,
    skip_reason: invalidExperimentReason(config, instrument, ipts),
  };
}

/**
 * Why `experiment` is not a valid experiment of `instrument` (null when it is): it must match the
 * instrument's `experiment_pattern` (ISIS: seven digits, the queue processor's RB rule; SNS:
 * `IPTS-<digits>`) and be usable as a folder name. The one place experiments are judged: a run
 * that fails is recorded as skipped with this reason, as ISIS records its calibration runs.
 */
export function invalidExperimentReason(
  config: Config,
  instrument: string,
  experiment: string,
): string | null {
  const settings = instrumentSettings(config, instrument);
  if (!settings) return null;
  if (!settings.experimentPattern.test(experiment)) {
    return `not a valid experiment for ${instrument}: ${JSON.stringify(experiment)} does not match ${settings.experimentPattern.source} (instruments.${instrument}.experiment_pattern); skipped, not reduced`;
  }
  const problem = pathComponentProblem(experiment);
  return problem ? `not a valid experiment for ${instrument}: ${problem}; skipped, not reduced` : null;
}

function checkDataFile(path: string, roots: string[]): { file: string; size: number; mtimeMs: number } {
  if (!isAbsolute(path)) throw new InvalidMessageError(`data_file must be an absolute path (got ${path})`);
  const file = normalize(path);
  if (!roots.some((root) => insideRoot(root, file))) {
    throw new InvalidMessageError(`data_file ${file} is outside the archive roots (${roots.join(", ")})`);
  }
  let real: string;
  let stat: ReturnType<typeof statSync>;
  try {
    real = realpathSync(file);
    stat = statSync(real);
    if (!stat.isFile()) throw new InvalidMessageError(`Data file is not a regular file: ${file}`);
  } catch (e) {
    if (e instanceof InvalidMessageError) throw e;
    throw new InvalidMessageError(`Data file not found: ${file}`);
  }
  if (!roots.some((root) => insideRoot(safeRealpath(root), real))) {
    throw new InvalidMessageError(`data_file ${file} resolves to ${real}, outside the archive roots`);
  }
  return { file, size: stat.size, mtimeMs: stat.mtimeMs };
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Decodes a bare path with the configured layouts first, then the SNS rule (as SNS's workflow manager does). */
function fromBarePath(path: string, config: Config): DataReady {
  for (const root of config.archive.roots) {
    const rel = insideRoot(root, normalize(path));
    if (!rel) continue;
    for (const name of Object.keys(config.instruments)) {
      const settings = instrumentSettings(config, name);
      if (!settings) continue;
      for (const pattern of settings.patterns) {
        const match = compilePathPattern(pattern, name, settings.prefix).match(rel);
        if (match?.experiment) {
          return validateMessage(DataReadySchema, {
            facility: settings.facility,
            instrument: name,
            ipts: match.experiment,
            run_number: match.runNumber,
            data_file: path,
          });
        }
      }
    }
  }
  const sns = decodeSnsPath(path);
  if (sns) return validateMessage(DataReadySchema, sns);
  throw new InvalidMessageError(
    `body is a bare path that matches no instrument layout, so instrument, experiment and run are unknown: ${path}`,
  );
}
