import { RefusedError } from "../../failures/refused-error.ts";
/**
 * Reading the figure out of a Plotly `<div>` export (plotly.py `plot(fig, output_type="div")`,
 * what SNS's `plot_publisher` uploads) WITHOUT running or inserting it: the text is only
 * scanned. The div's script calls
 *
 *     Plotly.newPlot("<id>", [DATA...], {LAYOUT...}, {CONFIG...})
 *
 * and we read the 2nd and 3rd arguments as JSON: a small scanner finds where each argument
 * ends (the matching bracket, stepping over strings and their escapes), and JSON.parse reads it.
 * Anything else (no such call, arguments that are not JSON: code, variables) is refused with a
 * reason.
 */

/** An upload we cannot read, with the reason to answer (400). */
export class PlotParseError extends RefusedError {
  override readonly name = "PlotParseError";
}

const CALL = "Plotly.newPlot(";
/** How many `Plotly.newPlot(` occurrences are tried at most. */
const MAX_CALLS_TRIED = 20;

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function skipSpace(text: string, at: number): number {
  let i = at;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The index just past the string literal that starts at `at` (`"…"` or `'…'`, with escapes). */
function stringEnd(text: string, at: number): number {
  const quote = text[at] === "'" ? "'" : '"';
  let i = at + 1;
  for (;;) {
    const close = text.indexOf(quote, i);
    if (close < 0) break;
    // The quote is escaped when an odd number of backslashes precede it.
    let slashes = 0;
    while (text.charCodeAt(close - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return close + 1;
    i = close + 1;
  }
  throw new PlotParseError("a text in the plot's script is not closed (the upload is cut off?)");
}

/** Characters the scanner stops at outside strings: quotes, brackets, and the N/I of NaN/Infinity. */
const STOPS = /["'[\]{}NI]/g;

/**
 * Scans the JSON-like value (array or object) starting at `at` to its matching bracket. Returns
 * where it ends and its text with the bare `NaN`, `Infinity` and `-Infinity` that Python's json
 * writes replaced by `null` (gaps), so JSON.parse can read it.
 */
export function scanBracketed(text: string, at: number, what: string): { end: number; json: string } {
  const open = text[at];
  if (open !== "[" && open !== "{") throw new PlotParseError(`the ${what} is not a JSON list or object`);
  const stack: string[] = [];
  const pieces: string[] = [];
  let copied = at;
  const stops = new RegExp(STOPS.source, "g");
  stops.lastIndex = at;
  for (let found = stops.exec(text); found; found = stops.exec(text)) {
    const i = found.index;
    const ch = found[0];
    if (ch === '"' || ch === "'") {
      stops.lastIndex = stringEnd(text, i);
    } else if (ch === "[" || ch === "{") {
      stack.push(ch === "[" ? "]" : "}");
    } else if (ch === "]" || ch === "}") {
      if (stack.pop() !== ch) throw new PlotParseError(`the ${what} has brackets that do not match`);
      if (stack.length === 0) {
        pieces.push(text.slice(copied, i + 1));
        return { end: i + 1, json: pieces.join("") };
      }
    } else if (ch === "N" && text.startsWith("NaN", i)) {
      pieces.push(text.slice(copied, i), "null");
      copied = i + 3;
      stops.lastIndex = copied;
    } else if (ch === "I" && text.startsWith("Infinity", i)) {
      const minus = text[i - 1] === "-" ? 1 : 0;
      pieces.push(text.slice(copied, i - minus), "null");
      copied = i + 8;
      stops.lastIndex = copied;
    }
  }
  throw new PlotParseError(`the ${what} is cut off (its closing bracket is missing)`);
}

/**
 * JSON.parse that also reads Python's `NaN`/`Infinity` (as null) and says where the text is
 * wrong without quoting it.
 */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const position = /position (\d+)/.exec(String((e as Error).message))?.[1];
    throw new PlotParseError(
      `the ${what} is not valid JSON${position === undefined ? "" : ` (near character ${position})`}`,
    );
  }
}

/** A whole JSON document (an uploaded figure or series), tolerating Python's NaN and Infinity. */
export function parseLenientJson(text: string, what: string): unknown {
  const start = skipSpace(text, 0);
  if (text[start] !== "{" && text[start] !== "[") return parseJsonText(text, what);
  const { end, json } = scanBracketed(text, start, what);
  if (skipSpace(text, end) !== text.length) throw new PlotParseError(`the ${what} has text after its end`);
  return parseJsonText(json, what);
}

/** The end of an argument that is not JSON (the div's id: a string literal or a name). */
function simpleArgumentEnd(text: string, at: number): number {
  if (text[at] === '"' || text[at] === "'") return stringEnd(text, at);
  let i = at;
  while (i < text.length && text[i] !== "," && text[i] !== ")") i++;
  return i;
}

/** Reads the data and layout of the `Plotly.newPlot(` call whose arguments start at `at`, and where the call ends. */
function readCall(text: string, at: number): { data: unknown; layout: unknown; end: number } {
  let i = skipSpace(text, simpleArgumentEnd(text, skipSpace(text, at)));
  if (text[i] !== ",") throw new PlotParseError("Plotly.newPlot( is not followed by the plot's data");
  i = skipSpace(text, i + 1);
  const data = scanBracketed(text, i, "plot's data");
  const first = parseJsonText(data.json, "plot's data");
  i = skipSpace(text, data.end);
  let layout: unknown = {};
  if (text[i] === ",") {
    i = skipSpace(text, i + 1);
    if (text[i] !== ")") {
      const scanned = scanBracketed(text, i, "plot's layout");
      layout = parseJsonText(scanned.json, "plot's layout");
      i = scanned.end;
    }
  } else if (text[i] !== ")") {
    throw new PlotParseError("the plot's data is followed by something that is not its layout");
  }
  // plotly.js also takes one figure object: newPlot(id, {data, layout, config}).
  if (!Array.isArray(first) && first !== null && typeof first === "object" && "data" in first) {
    const figure = first as { data: unknown; layout?: unknown };
    return { data: figure.data, layout: figure.layout ?? {}, end: i };
  }
  return { data: first, layout, end: i };
}

/**
 * The figure (Plotly `data` and `layout`, as parsed JSON, not yet checked) of a Plotly `<div>`
 * export. Every `Plotly.newPlot(` is tried in order; one inside the arguments of a call already
 * read (text in the figure's data) is not a call. The last call read is the figure (a div made
 * with the plotly.js library inlined has the library first). Throws PlotParseError saying why
 * when there is none we can read.
 */
export function extractPlotlyDiv(html: string): { data: unknown; layout: unknown } {
  let found: { data: unknown; layout: unknown; end: number } | null = null;
  let firstError: PlotParseError | null = null;
  let tried = 0;
  for (let at = html.indexOf(CALL); at >= 0 && tried < MAX_CALLS_TRIED; at = html.indexOf(CALL, at + 1)) {
    if (found && at < found.end) continue;
    tried++;
    try {
      found = readCall(html, at + CALL.length);
    } catch (e) {
      if (!(e instanceof PlotParseError)) throw e;
      firstError ??= e;
    }
  }
  if (found) return { data: found.data, layout: found.layout };
  throw (
    firstError ??
    new PlotParseError(
      "no Plotly.newPlot( call found: upload the <div> that plotly's plot(fig, output_type='div') makes, or the figure as JSON",
    )
  );
}
