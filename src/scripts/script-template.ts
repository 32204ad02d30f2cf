import { RefusedError } from "../failures/refused-error.ts";

/**
 * Script templates with the semantics of Python's `string.Template.substitute`, as SNS uses for its
 * reduction script templates: `$name` and `${name}` are placeholders (names `[_a-zA-Z][_a-zA-Z0-9]*`),
 * `$$` is a literal `$`, and any other `$` is an invalid placeholder.
 */

/** Thrown when a template cannot be filled in: arguments are missing or a `$` is not a placeholder. */
export class TemplateError extends RefusedError {
  override readonly name = "TemplateError";
  constructor(
    message: string,
    /** The placeholders without a value, in the order they first appear. */
    readonly missing: string[] = [],
  ) {
    super(message);
  }
}

/** Python's `Template.pattern`; the last group matches an invalid placeholder (the `$` alone). */
const PATTERN = /\$(?:(\$)|([_a-zA-Z][_a-zA-Z0-9]*)|\{([_a-zA-Z][_a-zA-Z0-9]*)\}|())/g;
/** The line breaks of Python's `str.splitlines`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python's str.splitlines breaks lines at these
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;

/** The valid placeholder names of `text`, in the order they first appear (like `Template.get_identifiers`). */
export function templatePlaceholders(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(PATTERN)) {
    const name = match[2] ?? match[3];
    if (name !== undefined) names.add(name);
  }
  return [...names];
}

/**
 * Fills in the placeholders of `text` (booleans as Python's `True`/`False`, numbers as JavaScript writes
 * them). Throws TemplateError "Template arguments missing: ['a', 'b']" when values are missing, or
 * "Invalid placeholder in string: line 1, col 3" (Python's message) for a stray `$`.
 */
export function renderTemplate(text: string, values: Record<string, string | number | boolean>): string {
  const missing = templatePlaceholders(text).filter((name) => !Object.hasOwn(values, name));
  if (missing.length > 0) {
    throw new TemplateError(
      `Template arguments missing: [${missing.map((n) => `'${n}'`).join(", ")}]`,
      missing,
    );
  }
  return text.replace(PATTERN, (whole, escaped, named, braced, _invalid, offset: number) => {
    if (escaped !== undefined) return "$";
    const name: unknown = named ?? braced;
    if (typeof name !== "string") throw new TemplateError(invalidPlaceholder(text, offset + 1));
    return asText(values[name] ?? whole);
  });
}

function asText(value: string | number | boolean): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
}

/** Python's message for an invalid placeholder; `end` is the index just after the `$`. */
function invalidPlaceholder(text: string, end: number): string {
  const before = text.slice(0, end);
  let line = 1;
  let lineStart = 0;
  for (const match of before.matchAll(LINE_BREAK)) {
    line += 1;
    lineStart = match.index + match[0].length;
  }
  return `Invalid placeholder in string: line ${line}, col ${end - lineStart}`;
}
