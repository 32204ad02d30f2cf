/**
 * Values a `REDUCTION.CREATE_SCRIPT` request may put into an instrument's script. The template is
 * filled in as text (SNS's `string.Template`), so a value is code: anyone who can publish on the
 * broker could otherwise write Python into the script every plain job of that instrument runs.
 * A value may not hold what it takes to leave a string literal or to call something: quotes,
 * backslashes, parentheses, braces, `;`, backticks or control characters (line breaks). What
 * WebMon's setup pages send — numbers, `True`, paths, `1-7,122-128`, `[0.1, 0.2]` — passes.
 */
const UNSAFE = /["'\\(){};`\p{Cc}]/u;

/** Why a template value may not be used, or null when every value is plain. */
export function templateValueRefusal(data: Record<string, unknown>): string | null {
  for (const [name, value] of Object.entries(data)) {
    if (typeof value === "string" && UNSAFE.test(value))
      return `template value ${name} holds characters a script template cannot take safely (quotes, \\, ( ) { } ; \` or line breaks)`;
  }
  return null;
}
