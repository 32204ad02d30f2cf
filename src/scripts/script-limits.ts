import { totalmem } from "node:os";
import type { Config } from "../config/load-config.ts";
import { parseByteSize, parseMemoryLimit } from "../config/memory-size.ts";
import type { ExecutionLimits } from "../executors/executor.ts";

/** The limits a script runs under, for one instrument. */
export interface ScriptLimits {
  /** Memory, wall time, stall and check period, as the executor enforces them. */
  limits: ExecutionLimits;
  /** Bytes kept of each log stream (head and tail); null for no limit. */
  logLimitBytes: number | null;
}

/**
 * An instrument's limits: its own settings (`instruments.<INST>.memory_limit`,
 * `time_limit_minutes`, `stall_minutes`, `log_limit`) over the worker's (`worker.*`). An instrument
 * missing from the configuration gets the worker's. A relative memory limit (`80%`) is of
 * `totalMemoryBytes`.
 */
export function scriptLimits(
  config: Config,
  instrument: string,
  totalMemoryBytes = totalmem(),
): ScriptLimits {
  const worker = config.worker;
  const own = config.instruments[instrument.toUpperCase()];
  const memory = own?.memory_limit !== undefined ? own.memory_limit : worker.memory_limit;
  const minutes = own?.time_limit_minutes !== undefined ? own.time_limit_minutes : worker.time_limit_minutes;
  const stall = own?.stall_minutes !== undefined ? own.stall_minutes : worker.stall_minutes;
  const logLimit = own?.log_limit !== undefined ? own.log_limit : worker.log_limit;
  return {
    logLimitBytes: logLimit ? parseByteSize(logLimit) : null,
    limits: {
      memoryBytes: memory ? parseMemoryLimit(memory, totalMemoryBytes) : null,
      wallSeconds: minutes ? minutes * 60 : null,
      stallSeconds: stall ? stall * 60 : null,
      checkIntervalMs: worker.check_interval_seconds * 1000,
    },
  };
}
