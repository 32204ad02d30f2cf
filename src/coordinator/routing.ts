/**
 * Which queue a run's job goes to. Rules come from the database (ordered by priority) and then
 * the config; every condition a rule gives must match, and the first matching rule wins. No match:
 * the default queue. A pure decision, table-tested; the chosen rule is recorded with the reduction.
 */
export type { RouteRule } from "../store/routing-store.ts";

import type { WorkersKindName } from "../config/config-schema.ts";
import type { RouteRule } from "../store/routing-store.ts";

/** What rules may look at. Unknown facts (null) never match a condition on them. */
export interface RunFacts {
  instrument: string;
  title: string | null;
  sample: string | null;
  fileBytes: number | null;
}

/** A run as the router is asked about it. */
export interface RoutedRun {
  instrument: string;
  dataFile: string;
  title: string | null;
  metadata: Record<string, unknown>;
}

export interface Route {
  queue: string;
  /** The rule's name; null for the default queue. */
  rule: string | null;
  /** The executor the rule names (put in the job message as `executor`); null: the worker's own. */
  executor: string | null;
  /** Who serves the queue: the rule's `workers`, else the instrument's (`defaultWorkers`). */
  workers: WorkersKindName;
}

export function chooseRoute(
  rules: readonly RouteRule[],
  run: RunFacts,
  defaultQueue: string,
  defaultWorkers: WorkersKindName = "autoreduce",
): Route {
  for (const rule of rules) {
    if (matches(rule, run))
      return {
        queue: rule.queue,
        rule: rule.name,
        executor: rule.executor ?? null,
        workers: rule.workers ?? defaultWorkers,
      };
  }
  return { queue: defaultQueue, rule: null, executor: null, workers: defaultWorkers };
}

function matches(rule: RouteRule, run: RunFacts): boolean {
  if (rule.instrument && rule.instrument.toUpperCase() !== run.instrument.toUpperCase()) return false;
  if (rule.title && (run.title === null || !new RegExp(rule.title).test(run.title))) return false;
  if (rule.sample && (run.sample === null || !new RegExp(rule.sample).test(run.sample))) return false;
  if (rule.min_file_bytes != null && (run.fileBytes === null || run.fileBytes < rule.min_file_bytes))
    return false;
  return true;
}
