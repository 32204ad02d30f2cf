import { statSync } from "node:fs";
import { instrumentSettings } from "../../config/instrument-settings.ts";
import type { Config } from "../../config/load-config.ts";
import { selectVariableSet } from "../../coordinator/variable-selection.ts";
import { experimentProblem } from "../../messages/path-component.ts";
import { type ReduceVars, readReduceVars } from "../../scripts/reduce-vars-reader.ts";
import {
  coerceValue,
  typeOf,
  VariableValueError,
  type VarType,
  type VarValue,
} from "../../scripts/variable-types.ts";
import type { VariableSetView, VariableValues } from "../../store/variable-store.ts";

/**
 * The instrument page's variable sets and their editor, as pure functions: which set applies to
 * the next run and which are upcoming, the script's variables with their types and help text,
 * and the check of an editor form that reports every problem next to its field.
 */

export type Section = "standard_vars" | "advanced_vars";

/** A variable of the script: its default, type and help text (from `reduce_vars.py`). */
export interface ScriptVariable {
  name: string;
  section: Section;
  type: VarType;
  value: VarValue;
  help: string | null;
}

/** Plain words for each type, shown beside the field. */
export const TYPE_WORDS: Record<VarType, string> = {
  text: "text",
  integer: "whole number",
  number: "number",
  boolean: "true or false",
  list_text: "list of text, comma-separated",
  list_number: "list of numbers, comma-separated",
  list_boolean: "list of true/false, comma-separated",
};

/** The script's variables in the file's order, standard ones first. */
export function scriptVariables(
  defaults: VariableValues,
  help: ReduceVars["variable_help"] | null,
): ScriptVariable[] {
  const sections: Section[] = ["standard_vars", "advanced_vars"];
  return sections.flatMap((section) =>
    Object.entries(defaults[section]).map(([name, value]) => ({
      name,
      section,
      type: defaults.types?.[section]?.[name] ?? typeOf(value),
      value,
      help: help?.[section][name] ?? null,
    })),
  );
}

/** A value as a person reads and types it: lists comma-separated. */
export function formatValue(value: VarValue | undefined): string {
  if (value === undefined) return "";
  return Array.isArray(value) ? value.map(String).join(", ") : String(value);
}

/** The values a set holds, by name (both sections). */
export function setValues(set: Pick<VariableSetView, "values">): Record<string, VarValue> {
  return { ...set.values.standard_vars, ...set.values.advanced_vars };
}

/** Where a set stands relative to the next run. */
export type SetRole = "next" | "upcoming" | "past" | "experiment";

export interface DescribedSet {
  set: VariableSetView;
  role: SetRole;
  /** Which runs it covers, in words: "runs 100–199", "runs from 200 on", "experiment IPTS-5". */
  covers: string;
}

/** The people-made sets of an instrument, described against the next run. */
export interface SetOverview {
  /** The next run's number (the last one's + 1); null before the first run. */
  nextRun: number | null;
  /** The experiment the next run will probably belong to (the last run's). */
  nextExperiment: string | null;
  /** The set the next run gets (null: the script's defaults). */
  nextSet: VariableSetView | null;
  /** From-run sets by start, then experiment sets by experiment. */
  sets: DescribedSet[];
}

/** Describes the live sets (deleted ones and the script's defaults left out) for the instrument page. */
export function overviewOfSets(
  all: VariableSetView[],
  last: { run_number: number; experiment: string } | null,
): SetOverview {
  const live = all.filter((s) => s.deleted_at === null && s.scope !== "default");
  const nextRun = last ? last.run_number + 1 : null;
  const nextExperiment = last?.experiment ?? null;
  const nextSet =
    nextRun === null
      ? null
      : (live.find((s) => s.id === selectVariableSet(live, nextRun, nextExperiment ?? "")?.id) ?? null);
  const fromRun = live
    .filter((s) => s.scope === "from_run" && s.start_run !== null)
    .sort((a, b) => (a.start_run ?? 0) - (b.start_run ?? 0) || a.id - b.id);
  // Of sets with the same start, the newest wins: the older ones never apply.
  const starts = [...new Set(fromRun.map((s) => s.start_run ?? 0))];
  const sets: DescribedSet[] = fromRun.map((set) => {
    const start = set.start_run ?? 0;
    const following = starts.find((s) => s > start);
    const covers = following === undefined ? `runs from ${start} on` : `runs ${start}–${following - 1}`;
    let role: SetRole;
    if (set.id === nextSet?.id) role = "next";
    else if (nextRun !== null && start > nextRun) role = "upcoming";
    else if (nextRun === null) role = "upcoming";
    else role = "past";
    return { set, role, covers };
  });
  for (const set of live
    .filter((s) => s.scope === "experiment")
    .sort((a, b) => (a.experiment ?? "").localeCompare(b.experiment ?? "") || a.id - b.id)) {
    sets.push({
      set,
      role: set.id === nextSet?.id ? "next" : "experiment",
      covers: `experiment ${set.experiment}`,
    });
  }
  return { nextRun, nextExperiment, nextSet, sets };
}

/** What the editor form sent. */
export interface EditorInput {
  scope: string;
  from_run: string;
  experiment: string;
  /** Each variable's field, by variable name. */
  values: Record<string, string>;
}

/** Problems of an editor form, by field: `scope`, `from_run`, `experiment`, and each variable by name. */
export interface EditorErrors {
  fields: Record<string, string>;
  variables: Record<string, string>;
}

export type EditorCheck =
  | { ok: true; fromRun?: number; experiment?: string; values: Record<string, VarValue> }
  | { ok: false; errors: EditorErrors };

/**
 * Checks an editor form against the script's variables. Every variable's field is converted to
 * its type; values equal to the script's default are left out of the set, so they keep
 * following the script when its defaults change.
 */
export function checkEditor(
  input: EditorInput,
  variables: ScriptVariable[],
  experimentPattern: RegExp,
  instrument: string,
): EditorCheck {
  const errors: EditorErrors = { fields: {}, variables: {} };
  let fromRun: number | undefined;
  let experiment: string | undefined;
  if (input.scope === "from_run") {
    const text = input.from_run.trim();
    fromRun = /^\d{1,15}$/.test(text) ? Number(text) : undefined;
    if (fromRun === undefined || !Number.isSafeInteger(fromRun))
      errors.fields.from_run =
        text === "" ? "Give the first run these values are for." : `"${text}" is not a run number.`;
  } else if (input.scope === "experiment") {
    experiment = input.experiment.trim().toUpperCase();
    const problem =
      experiment === "" ? "Give the experiment these values are for." : experimentProblem(experiment);
    if (problem) errors.fields.experiment = problem;
    else if (!experimentPattern.test(experiment))
      errors.fields.experiment = `"${experiment}" is not an experiment of ${instrument} (it must match ${experimentPattern.source}).`;
  } else {
    errors.fields.scope = "Choose whether the values are for runs from a number on or for one experiment.";
  }
  const values: Record<string, VarValue> = {};
  for (const variable of variables) {
    const raw = input.values[variable.name];
    if (raw === undefined) continue;
    try {
      const value = coerceValue(variable.type, variable.type === "text" ? raw : raw.trim());
      if (JSON.stringify(value) !== JSON.stringify(variable.value)) values[variable.name] = value;
    } catch (e) {
      if (!(e instanceof VariableValueError)) throw e;
      errors.variables[variable.name] = `${capitalise(e.reason)}.`;
    }
  }
  if (Object.keys(errors.fields).length > 0 || Object.keys(errors.variables).length > 0)
    return { ok: false, errors };
  return {
    ok: true,
    ...(fromRun !== undefined ? { fromRun } : {}),
    ...(experiment ? { experiment } : {}),
    values,
  };
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The help text of an instrument's variables, read from its `reduce_vars.py` (without running it)
 * when the file's size or modification time changed, so a page view does not start Python.
 */
export class VariableHelp {
  private readonly cache = new Map<string, { key: string; help: ReduceVars["variable_help"] | null }>();

  constructor(private readonly config: Config) {}

  async of(instrument: string): Promise<ReduceVars["variable_help"] | null> {
    const settings = instrumentSettings(this.config, instrument);
    if (!settings) return null;
    let key: string;
    try {
      const st = statSync(settings.varsFile);
      key = `${st.size}:${st.mtimeMs}`;
    } catch {
      return null;
    }
    const cached = this.cache.get(settings.varsFile);
    if (cached?.key === key) return cached.help;
    const help = await readReduceVars(settings.varsFile, this.config.scripts.python).then(
      (vars) => vars.variable_help,
      () => null,
    );
    this.cache.set(settings.varsFile, { key, help });
    return help;
  }
}
