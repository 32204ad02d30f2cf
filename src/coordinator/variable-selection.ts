/**
 * Which variable values a run is reduced with. Pure functions; the rules, as at ISIS:
 *
 * 1. a set for the run's experiment (the newest, if several), else
 * 2. the "from run N onwards" set with the highest start at or below the run number, else
 * 3. the script's defaults (`reduce_vars.py`).
 *
 * A set may hold only some variables: the others keep the script's defaults. Variables that are
 * no longer in the script are dropped; new ones get their defaults. Deleted sets never apply.
 */
import type { VarValue } from "../scripts/variable-types.ts";

export type { VarValue } from "../scripts/variable-types.ts";
export type { ScopedSet, VariableValues } from "../store/variable-store.ts";

import type { ScopedSet, VariableValues } from "../store/variable-store.ts";

/** The set that applies to a run, or null when the script's defaults apply. */
export function selectVariableSet(
  sets: ScopedSet[],
  runNumber: number,
  experiment: string,
): ScopedSet | null {
  const live = sets.filter((s) => s.deleted_at === null);
  const byExperiment = live
    .filter((s) => s.scope === "experiment" && s.experiment === experiment)
    .sort((a, b) => b.id - a.id);
  if (byExperiment[0]) return byExperiment[0];
  const fromRun = live
    .filter((s) => s.scope === "from_run" && s.start_run !== null && s.start_run <= runNumber)
    .sort((a, b) => (b.start_run ?? 0) - (a.start_run ?? 0) || b.id - a.id);
  return fromRun[0] ?? null;
}

/** The script's defaults overlaid with a set's values (only for variables the script still has). */
export function effectiveVariables(
  defaults: VariableValues,
  set: Pick<ScopedSet, "values"> | null,
): VariableValues {
  const overlay = (section: "standard_vars" | "advanced_vars"): Record<string, VarValue> => {
    const chosen = set?.values[section] ?? {};
    return Object.fromEntries(
      Object.entries(defaults[section]).map(([name, value]) => [
        name,
        name in chosen ? (chosen[name] as VarValue) : value,
      ]),
    );
  };
  return {
    standard_vars: overlay("standard_vars"),
    advanced_vars: overlay("advanced_vars"),
    ...(defaults.types ? { types: defaults.types } : {}),
  };
}

/** Runs (of those given) that a new set would apply to: offered as a re-run when a set is made retroactively. */
export function runsAffectedBy(
  set: Pick<ScopedSet, "scope" | "start_run" | "experiment">,
  runs: Array<{ run_number: number; experiment: string }>,
  otherSets: ScopedSet[],
): number[] {
  return runs
    .filter((run) => {
      if (set.scope === "experiment") return run.experiment === set.experiment;
      if (set.scope !== "from_run" || set.start_run === null || run.run_number < set.start_run) return false;
      // A run with its own experiment set, or a later start at or below it, keeps those values.
      const winner = selectVariableSet(
        [...otherSets, { ...set, id: Number.MAX_SAFE_INTEGER, values: {}, deleted_at: null }],
        run.run_number,
        run.experiment,
      );
      return winner?.id === Number.MAX_SAFE_INTEGER;
    })
    .map((run) => run.run_number);
}
