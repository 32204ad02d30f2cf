import { typeOf, type VarType, type VarValue } from "../../scripts/variable-types.ts";

/** One variable of a version, flattened from `{standard_vars, advanced_vars, types}`. */
export interface FlatVariable {
  name: string;
  value: VarValue;
  section: "standard" | "advanced";
  /** Its type as recorded with the values, else as inferred from the value; null: none fits (a mixed list). */
  type: VarType | null;
}

/** How a variable differs between two versions. */
export interface VariableChange {
  name: string;
  kind: "same" | "changed" | "added" | "removed";
  before: VarValue | undefined;
  after: VarValue | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const isVarValue = (v: unknown): v is VarValue =>
  typeof v === "string" ||
  typeof v === "number" ||
  typeof v === "boolean" ||
  (Array.isArray(v) &&
    v.every((x) => typeof x === "string" || typeof x === "number" || typeof x === "boolean"));

/**
 * The variables stored with a version, in the script's order (standard, then advanced). Stored
 * values are `{standard_vars, advanced_vars, types?}`; anything else (a plain object from an
 * older or foreign job) is read as standard variables, and values no form could hold are skipped.
 */
export function flattenVariables(stored: unknown): FlatVariable[] {
  if (!isRecord(stored)) return [];
  const sectioned = isRecord(stored.standard_vars) || isRecord(stored.advanced_vars);
  const types = isRecord(stored.types) ? stored.types : {};
  const read = (values: unknown, section: FlatVariable["section"], typesOf: unknown): FlatVariable[] => {
    if (!isRecord(values)) return [];
    const recorded = isRecord(typesOf) ? typesOf : {};
    return Object.entries(values)
      .filter((entry): entry is [string, VarValue] => isVarValue(entry[1]))
      .map(([name, value]) => ({ name, value, section, type: typeFor(value, recorded[name]) }));
  };
  if (!sectioned) return read(stored, "standard", {});
  return [
    ...read(stored.standard_vars, "standard", types.standard_vars),
    ...read(stored.advanced_vars, "advanced", types.advanced_vars),
  ];
}

const TYPES: readonly VarType[] = [
  "text",
  "integer",
  "number",
  "boolean",
  "list_text",
  "list_number",
  "list_boolean",
];

function typeFor(value: VarValue, recorded: unknown): VarType | null {
  if (typeof recorded === "string" && (TYPES as readonly string[]).includes(recorded))
    return recorded as VarType;
  try {
    return typeOf(value);
  } catch {
    return null;
  }
}

/** A value as people read it and as it compares: JSON (strings quoted, lists in brackets). */
export function showValue(value: VarValue | undefined): string {
  return value === undefined ? "—" : JSON.stringify(value);
}

/** Every variable of either side, in the order of the first then the new ones of the second. */
export function variableChanges(before: FlatVariable[], after: FlatVariable[]): VariableChange[] {
  const a = new Map(before.map((v) => [v.name, v.value]));
  const b = new Map(after.map((v) => [v.name, v.value]));
  const names = [...a.keys(), ...[...b.keys()].filter((n) => !a.has(n))];
  return names.map((name) => {
    const x = a.get(name);
    const y = b.get(name);
    const kind =
      x === undefined
        ? "added"
        : y === undefined
          ? "removed"
          : showValue(x) === showValue(y)
            ? "same"
            : "changed";
    return { name, kind, before: x, after: y };
  });
}

/** A value as a form field holds it: lists as comma-separated items, the rest as text. */
export function fieldText(value: VarValue): string {
  if (Array.isArray(value)) return value.map(String).join(", ");
  return String(value);
}

/** What to type for a value of this type (shown under the field). */
export const TYPE_HINT: Record<VarType, string> = {
  text: "text",
  integer: "a whole number",
  number: "a number (e.g. 0.5, 1e-3)",
  boolean: "true or false",
  list_text: "a list of text, separated by commas",
  list_number: "a list of numbers, separated by commas",
  list_boolean: "a list of true/false, separated by commas",
};
