/**
 * Which queue a run's job goes to. Rules come from the database (ordered by priority) and then
 * the config; every condition a rule gives must match, and the first matching rule wins. No match:
 * the default queue. A pure decision, table-tested; the chosen rule is recorded with the reduction.
 */
export type { RouteRule } from "../store/routing-store.ts";

import type { RouteRule } from "../store/routing-store.ts";

/** What rules may look at. Unknown facts (null) never match a condition on them. */
export interface RunFacts {
  instrument: string;
  title: string | null;
  sample: string | null;
  fileBytes: number | null;
}

export interface Route {
  queue: string;
  /** The rule's name; null for the default queue. */
  rule: string | null;
  /** The executor the rule names (put in the job message as `executor`); null: the worker's own. */
  executor: string | null;
}

export function chooseRoute(rules: readonly RouteRule[], run: RunFacts, defaultQueue: string): Route {
  for (const rule of rules) {
    if (matches(rule, run)) return { queue: rule.queue, rule: rule.name, executor: rule.executor ?? null };
  }
  return { queue: defaultQueue, rule: null, executor: null };
}

function matches(rule: RouteRule, run: RunFacts): boolean {
  if (rule.instrument && rule.instrument.toUpperCase() !== run.instrument.toUpperCase()) return false;
  if (rule.title && (run.title === null || !new RegExp(rule.title).test(run.title))) return false;
  if (rule.sample && (run.sample === null || !new RegExp(rule.sample).test(run.sample))) return false;
  if (rule.min_file_bytes != null && (run.fileBytes === null || run.fileBytes < rule.min_file_bytes))
    return false;
  return true;
}
