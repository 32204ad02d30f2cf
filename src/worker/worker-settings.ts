import type { Config } from "../config/load-config.ts";
import { type SuccessPolicy, successPolicy } from "./success-policy.ts";

/**
 * The worker's rules for one instrument: its config overrides over the worker's defaults. (The
 * limits a script runs under are the script module's: `scripts/script-limits.ts`.)
 */
export interface InstrumentRules {
  /** How the worker judges the script's end (`success`, `exceptions`). */
  policy: SuccessPolicy;
  /** At most one job of an experiment at a time (ISIS instruments by default). */
  onePerExperiment: boolean;
}

/**
 * Derives (and caches) each instrument's rules. Instruments missing from this worker's config
 * (an SNS workflow manager may send any) get the worker's defaults.
 */
export class WorkerSettings {
  private readonly cache = new Map<string, InstrumentRules>();

  constructor(private readonly config: Config) {}

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
    const mode = own?.success ?? worker.success;
    return {
      // With sns_compatible, `stderr` is the agent's rule to the letter (success-policy.ts).
      policy: successPolicy(mode === "stderr" && worker.sns_compatible ? "agent" : mode, [
        ...worker.exceptions,
        ...(own?.exceptions ?? []),
      ]),
      onePerExperiment: own?.one_per_experiment ?? (own?.convention === "isis" || worker.one_per_experiment),
    };
  }
}
