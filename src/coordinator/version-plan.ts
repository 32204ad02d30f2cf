import type { Config } from "../config/load-config.ts";
import { RefusedError } from "../failures/refused-error.ts";
import { coerceVariables, typedVariables } from "../scripts/variable-types.ts";
import type { ReductionRow, ReductionSnapshot } from "../store/run-store.ts";
import type { ReductionStatus } from "../store/schema.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { recordScriptDefaults, variableSets } from "../store/variable-store.ts";
import { isEmptyScript, type ScriptCatalog } from "./script-catalog.ts";
import { effectiveVariables, selectVariableSet, type VariableValues } from "./variable-selection.ts";

/** What a new reduction version will run, or why it will not run. */
export interface VersionPlan {
  snapshot?: ReductionSnapshot;
  initial?: { status: ReductionStatus; message: string };
}

export interface PlanRequest {
  instrument: string;
  facility: string;
  experiment: string;
  runNumber: number;
  /** Re-run from this earlier version's stored script and variables (unless `currentScript`). */
  previous?: ReductionRow | null;
  /** Use the script file as it is now instead of the stored text. */
  currentScript?: boolean;
  /** Variable values a person changed for this version (validated against the script's types). */
  modifications?: Record<string, unknown>;
  /**
   * Who decides whether the instrument has a script (`scriptCheckBy`). `worker`: a script the
   * coordinator cannot read does not make the version `disabled`; it is queued without script
   * text, and the worker runs the script it finds or reports DISABLED. Default `coordinator`.
   */
  scriptCheck?: "coordinator" | "worker";
}

/** Thrown for a re-run request that cannot be honoured as asked (unknown variable, bad value). */
export class PlanRefused extends RefusedError {
  override readonly name = "PlanRefused";
}

/**
 * Decides the script and variables of a new version. Automatic runs and re-runs with the current
 * script take the script file as it is now and the variables selected for the run; re-runs with
 * the stored script take the earlier version's exact text and values. Modified values are
 * coerced to the type of the script's default, and refused with a reason when they cannot be.
 */
export async function planVersion(
  deps: { config: Config; database: SqlDatabase; catalog: ScriptCatalog },
  request: PlanRequest,
): Promise<VersionPlan> {
  const useStored = request.previous?.script_text && !request.currentScript;
  if (useStored && request.previous)
    return withModifications(storedSnapshot(request.previous), request.modifications);
  const script = await deps.catalog.current(request.instrument);
  if (!script && request.scriptCheck === "worker") return {};
  if (!script) {
    return {
      initial: {
        status: "disabled",
        message: `no reduction script at ${deps.catalog.expectedPath(request.instrument)}`,
      },
    };
  }
  if (script.convention === "isis" && isEmptyScript(script.text)) {
    // As at ISIS: an empty reduce.py means "do not reduce", not a failure.
    return {
      initial: { status: "skipped", message: `Script text for current instrument is empty (${script.path})` },
    };
  }
  const base = {
    script_path: script.path,
    script_text: script.text,
    script_hash: script.hash,
    interpreter: script.interpreter,
    convention: script.convention,
  };
  if (script.varsError) {
    return {
      snapshot: { ...base, variables: null, variable_set_id: null },
      initial: { status: "error", message: script.varsError },
    };
  }
  if (!script.defaults || !script.varsHash) {
    return withModifications({ ...base, variables: null, variable_set_id: null }, request.modifications);
  }
  const { database } = deps;
  const defaultSet = await recordScriptDefaults(
    database,
    request.instrument,
    request.facility,
    script.defaults,
    script.varsHash,
  );
  const sets = (await variableSets(database, request.instrument)).filter((s) => s.scope !== "default");
  const chosen = selectVariableSet(sets, request.runNumber, request.experiment);
  const values = effectiveVariables(script.defaults, chosen);
  return withModifications(
    { ...base, variables: JSON.stringify(values), variable_set_id: chosen?.id ?? defaultSet },
    request.modifications,
  );
}

function storedSnapshot(previous: ReductionRow): ReductionSnapshot {
  return {
    script_path: previous.script_path ?? "",
    script_text: previous.script_text ?? "",
    script_hash: previous.script_hash ?? "",
    interpreter: previous.interpreter ?? "",
    convention: previous.convention ?? "sns",
    variables: previous.variables,
    variable_set_id: previous.variable_set_id,
  };
}

function withModifications(
  snapshot: ReductionSnapshot,
  modifications?: Record<string, unknown>,
): VersionPlan {
  if (!modifications || Object.keys(modifications).length === 0) return { snapshot };
  if (!snapshot.variables)
    throw new PlanRefused("this script has no variables (no reduce_vars.py), so none can be changed");
  const current = JSON.parse(snapshot.variables) as VariableValues;
  const next: VariableValues = {
    ...current,
    standard_vars: { ...current.standard_vars },
    advanced_vars: { ...current.advanced_vars },
  };
  const all = typedVariables(
    { ...current.standard_vars, ...current.advanced_vars },
    { ...current.types?.standard_vars, ...current.types?.advanced_vars },
  );
  let coerced: Record<string, unknown>;
  try {
    coerced = coerceVariables(all, modifications);
  } catch (e) {
    throw new PlanRefused((e as Error).message);
  }
  for (const [name, value] of Object.entries(coerced)) {
    if (name in next.standard_vars) next.standard_vars[name] = value as never;
    else next.advanced_vars[name] = value as never;
  }
  return { snapshot: { ...snapshot, variables: JSON.stringify(next), variable_set_id: null } };
}
