import { statSync } from "node:fs";
import { instrumentSettings } from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";
import { listRouteRules } from "../store/routing-store.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { scriptCheckBy } from "./job-audience.ts";
import { chooseRoute, type Route, type RoutedRun } from "./routing.ts";

/** Applies the routing rules (database first, then config) to a job about to be sent. */
export class JobRouter {
  constructor(
    private readonly config: Config,
    private readonly database: SqlDatabase,
  ) {}

  /** Who decides whether the run's instrument has a script (see `scriptCheckBy`). */
  async scriptCheck(run: RoutedRun): Promise<"coordinator" | "worker"> {
    const settings = instrumentSettings(this.config, run.instrument);
    if (settings?.scriptCheck) return settings.scriptCheck;
    return scriptCheckBy(settings, (await this.route(run)).workers);
  }

  async route(run: RoutedRun): Promise<Route> {
    const rules = [...(await listRouteRules(this.database)), ...this.config.routing];
    const defaultQueue = this.config.queues.reduction_data_ready;
    const workers = instrumentSettings(this.config, run.instrument)?.workers ?? "autoreduce";
    if (rules.length === 0) return { queue: defaultQueue, rule: null, executor: null, workers };
    const sample = run.metadata.sample_name;
    return chooseRoute(
      rules,
      {
        instrument: run.instrument,
        title: run.title,
        sample: typeof sample === "string" ? sample : null,
        fileBytes: rules.some((r) => r.min_file_bytes != null) ? fileSize(run.dataFile) : null,
      },
      defaultQueue,
      workers,
    );
  }
}

function fileSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}
