import { RefusedError } from "../failures/refused-error.ts";

/**
 * The types of a reduction script's variables and the coercion of user input to them.
 *
 * A variable's type is inferred from the default in the script's `reduce_vars.py`. Python tells integers
 * from floats (`1` vs `1.0`) but JSON does not, so a float default is flagged separately (the reader carries
 * the Python type): a float default `1.0` gives "number", which accepts "3" as 3.0, while an integer default
 * `1` gives "integer", which rejects "3.5". Inside lists integers and floats are both "list_number".
 */

/** A variable's value: what `reduce_vars.py` may hold, and what a web form or CLI may set. */
export type VarValue = string | number | boolean | Array<string | number | boolean>;

export type VarType =
  | "text"
  | "integer"
  | "number"
  | "boolean"
  | "list_text"
  | "list_number"
  | "list_boolean";

/** A variable's default together with its type. */
export interface TypedVar {
  type: VarType;
  value: VarValue;
}

/** Thrown when a value cannot be turned into its variable's type, or names an unknown variable. */
export class VariableValueError extends RefusedError {
  override readonly name = "VariableValueError";
  constructor(
    /** What is wrong, e.g. "Minimum Extents: expected a list of numbers, got 'a,b'". */
    override readonly reason: string,
    /** The variable concerned, when there is one. */
    readonly variable?: string,
  ) {
    super(reason);
  }
}

const EXPECTED: Record<VarType, string> = {
  text: "text",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  list_text: "a list of text",
  list_number: "a list of numbers",
  list_boolean: "a list of true/false values",
};

const ELEMENT_TYPE = { list_text: "text", list_number: "number", list_boolean: "boolean" } as const;

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE_WORDS = new Set(["true", "yes", "1"]);
const FALSE_WORDS = new Set(["false", "no", "0"]);

/**
 * The type of a variable whose default is `defaultValue`. `isFloat` says the default was a Python float
 * (needed for integral floats such as `1.0`, which JSON turns into `1`). An empty list is "list_text".
 * Throws VariableValueError for a list mixing kinds of value, which no form could edit.
 */
export function typeOf(defaultValue: VarValue, isFloat = false): VarType {
  if (typeof defaultValue === "string") return "text";
  if (typeof defaultValue === "boolean") return "boolean";
  if (typeof defaultValue === "number") {
    return isFloat || !Number.isInteger(defaultValue) ? "number" : "integer";
  }
  const kinds = new Set(defaultValue.map((item) => typeof item));
  if (kinds.size > 1) {
    throw new VariableValueError(`a list must hold one kind of value, got ${describe(defaultValue)}`);
  }
  const [kind] = kinds;
  if (kind === "number") return "list_number";
  if (kind === "boolean") return "list_boolean";
  return "list_text";
}

/**
 * Turns `input` into a value of `type`. Accepts typed JSON values as well as the strings a CLI or web form
 * sends: "true"/"false"/"yes"/"no"/"1"/"0" for booleans, decimal numbers with optional exponent, and lists
 * as comma-separated items with optional surrounding brackets ("[1, 2]", "1,2"; items of text may be quoted).
 * Throws VariableValueError naming `name` when given.
 */
export function coerceValue(type: VarType, input: unknown, name?: string): VarValue {
  const coerced = type in ELEMENT_TYPE ? coerceList(type, input) : coerceScalar(type, input);
  if (coerced === undefined) {
    const prefix = name === undefined ? "" : `${name}: `;
    throw new VariableValueError(`${prefix}expected ${EXPECTED[type]}, got ${describe(input)}`, name);
  }
  return coerced;
}

/**
 * Checks and coerces `values` (set by a user) against the script's `defaults`; returns the defaults with
 * the given values in their place. Throws VariableValueError for unknown names (listing the known ones)
 * or for the first value that does not fit its type.
 */
export function coerceVariables(
  defaults: Record<string, TypedVar>,
  values: Record<string, unknown>,
): Record<string, VarValue> {
  const unknown = Object.keys(values).filter((name) => !Object.hasOwn(defaults, name));
  if (unknown.length > 0) {
    const known = Object.keys(defaults);
    const list = (names: string[]) => names.map((n) => `'${n}'`).join(", ");
    throw new VariableValueError(
      `unknown variable${unknown.length > 1 ? "s" : ""} ${list(unknown)}; known: ${known.length > 0 ? list(known) : "(none)"}`,
      unknown[0],
    );
  }
  return Object.fromEntries(
    Object.entries(defaults).map(([name, typed]) => [
      name,
      Object.hasOwn(values, name) ? coerceValue(typed.type, values[name], name) : typed.value,
    ]),
  );
}

/** Typed variables from a section of defaults; `types` (from the reader) wins over inference. */
export function typedVariables(
  defaults: Record<string, VarValue>,
  types: Record<string, VarType> = {},
): Record<string, TypedVar> {
  return Object.fromEntries(
    Object.entries(defaults).map(([name, value]) => {
      const type = Object.hasOwn(types, name) ? types[name] : undefined;
      return [name, { type: type ?? typeOf(value), value }];
    }),
  );
}

type ScalarType = "text" | "number" | "boolean" | "integer";

function coerceScalar(type: VarType, input: unknown): string | number | boolean | undefined {
  switch (type) {
    case "text":
      return typeof input === "string" ? input : undefined;
    case "boolean":
      return toBoolean(input);
    case "number":
      return toNumber(input);
    case "integer": {
      const n = toNumber(input);
      return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
    }
    default:
      return undefined;
  }
}

function coerceList(type: VarType, input: unknown): VarValue | undefined {
  const elementType: ScalarType = ELEMENT_TYPE[type as keyof typeof ELEMENT_TYPE];
  const items = Array.isArray(input) ? input : typeof input === "string" ? splitList(input) : [input];
  if (items === undefined) return undefined;
  const result: Array<string | number | boolean> = [];
  for (const item of items) {
    const coerced = coerceScalar(elementType, item);
    if (coerced === undefined) return undefined;
    result.push(coerced);
  }
  return result;
}

/** "[a, 'b', 3]" → ["a", "b", "3"]; "" or "[]" → []; undefined for an empty item ("1,,2"). */
function splitList(text: string): string[] | undefined {
  let body = text.trim();
  if (body.startsWith("[") && body.endsWith("]")) body = body.slice(1, -1).trim();
  if (body === "") return [];
  const items = body.split(",").map((item) => unquote(item.trim()));
  return items.some((item) => item === "") ? undefined : items;
}

function unquote(item: string): string {
  const quoted = item.length >= 2 && (item[0] === "'" || item[0] === '"') && item.at(-1) === item[0];
  return quoted ? item.slice(1, -1) : item;
}

function toNumber(input: unknown): number | undefined {
  if (typeof input === "number") return Number.isFinite(input) ? input : undefined;
  if (typeof input !== "string") return undefined;
  const text = input.trim();
  if (!NUMBER.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function toBoolean(input: unknown): boolean | undefined {
  if (typeof input === "boolean") return input;
  if (input === 1 || input === 0) return input === 1;
  if (typeof input !== "string") return undefined;
  const word = input.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

/** A short readable rendering of a bad input: strings in single quotes, the rest as JSON. */
function describe(input: unknown): string {
  let text: string;
  if (typeof input === "string") text = `'${input}'`;
  else if (input === undefined) text = "nothing";
  else {
    try {
      text = JSON.stringify(input) ?? String(input);
    } catch {
      text = String(input);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
