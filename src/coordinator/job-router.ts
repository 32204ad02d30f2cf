import { statSync } from "node:fs";
import type { Config } from "../config/load-config.ts";
import { listRouteRules } from "../store/routing-store.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { chooseRoute, type Route } from "./routing.ts";

/** Applies the routing rules (database first, then config) to a job about to be sent. */
export class JobRouter {
  constructor(
    private readonly config: Config,
    private readonly database: SqlDatabase,
  ) {}

  async route(run: {
    instrument: string;
    dataFile: string;
    title: string | null;
    metadata: Record<string, unknown>;
  }): Promise<Route> {
    const rules = [...(await listRouteRules(this.database)), ...this.config.routing];
    const defaultQueue = this.config.queues.reduction_data_ready;
    if (rules.length === 0) return { queue: defaultQueue, rule: null, executor: null };
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
