import { totalmem } from "node:os";
import type { Config } from "../config/load-config.ts";
import { parseByteSize, parseMemoryLimit } from "../config/memory-size.ts";
import type { ExecutionLimits } from "../executors/executor.ts";
import { type SuccessPolicy, successPolicy } from "./success-policy.ts";

/** The worker's rules for one instrument: its config overrides over the worker's defaults. */
export interface InstrumentRules {
  limits: ExecutionLimits;
  /** Bytes kept of each log stream (head and tail); null for no limit. */
  logLimitBytes: number | null;
  policy: SuccessPolicy;
  onePerExperiment: boolean;
}

/**
 * Derives (and caches) each instrument's rules. Instruments missing from this worker's config
 * (an SNS workflow manager may send any) get the worker's defaults.
 */
export class WorkerSettings {
  private readonly cache = new Map<string, InstrumentRules>();

  constructor(
    private readonly config: Config,
    private readonly totalMemoryBytes = totalmem(),
  ) {}

  /** Queues this worker takes jobs from. */
  get queues(): string[] {
    const own = this.config.worker.queues;
    return own.length ? [...new Set(own)] : [this.config.queues.reduction_data_ready];
  }

  /** Jobs taken beyond the free slots, to wait in the worker for a limit to clear. */
  get hold(): number {
    return this.config.worker.hold ?? this.config.worker.max_procs;
  }

  perInstrument(_instrument: string): number {
    return this.config.worker.jobs_per_instrument;
  }

  rules(instrument: string): InstrumentRules {
    const name = instrument.toUpperCase();
    let rules = this.cache.get(name);
    if (!rules) {
      rules = this.derive(name);
      this.cache.set(name, rules);
    }
    return rules;
  }

  private derive(name: string): InstrumentRules {
    const worker = this.config.worker;
    const own = this.config.instruments[name];
    const memory = own?.memory_limit !== undefined ? own.memory_limit : worker.memory_limit;
    const minutes =
      own?.time_limit_minutes !== undefined ? own.time_limit_minutes : worker.time_limit_minutes;
    const stall = own?.stall_minutes !== undefined ? own.stall_minutes : worker.stall_minutes;
    const logLimit = own?.log_limit !== undefined ? own.log_limit : worker.log_limit;
    return {
      logLimitBytes: logLimit ? parseByteSize(logLimit) : null,
      limits: {
        memoryBytes: memory ? parseMemoryLimit(memory, this.totalMemoryBytes) : null,
        wallSeconds: minutes ? minutes * 60 : null,
        stallSeconds: stall ? stall * 60 : null,
        checkIntervalMs: worker.check_interval_seconds * 1000,
      },
      policy: successPolicy(own?.success ?? worker.success, [
        ...worker.exceptions,
        ...(own?.exceptions ?? []),
      ]),
      onePerExperiment: own?.one_per_experiment ?? (own?.convention === "isis" || worker.one_per_experiment),
    };
  }
}
