import { z } from "zod";
import { describeIssues } from "../../messages/message-error.ts";
import { type Axis, FIGURE_LIMITS, type Figure, type Trace } from "../views/figure.ts";
import { extractPlotlyDiv, PlotParseError, parseLenientJson } from "./plotly-div.ts";

/**
 * Uploaded plots into our checked Figure (views/figure.ts): a Plotly figure (JSON, or read out of
 * a Plotly `<div>` by plotly-div.ts) or our simple series. What we do not draw is dropped with a
 * note saying so (kept with the figure, shown under the plot), not refused, unless nothing
 * drawable remains; limits (traces, points, heatmap size) are refused with the limit named.
 * Every string becomes plain text: it is only ever rendered as escaped text.
 */

export type PlotSource = "plotly-div" | "plotly-json" | "series";

export interface ParsedPlot {
  figure: Figure;
  source: PlotSource;
  /** The plot's name and run version, when the upload gave them. */
  name?: string;
  version?: number;
}

/** A value of one trace we cannot read: the trace is left out, with this reason as a note. */
class Unreadable extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Plotly's light text formatting (`<br>`, `<b>`, `<sup>`…) taken out: the rest is shown as typed. */
export function plainText(value: unknown, max = 300): string | undefined {
  const text = typeof value === "string" ? value : isObj(value) ? value.text : undefined;
  if (typeof text !== "string") return undefined;
  const plain = text
    .replace(/<br\s*\/?>/gi, " ")
    .replace(/<\/?(?:b|i|em|strong|sup|sub|span)(?:\s[^<>]*)?>/gi, "")
    .replace(/\s+/g, " ")
    .trim();
  return plain ? plain.slice(0, max) : undefined;
}

/** `{dtype, bdata, shape}`: how plotly.py ≥ 5.x/6 writes numpy arrays (base64, little-endian). */
const DTYPES: Record<string, { size: number; read: (view: DataView, at: number) => number }> = {
  f8: { size: 8, read: (v, at) => v.getFloat64(at, true) },
  f4: { size: 4, read: (v, at) => v.getFloat32(at, true) },
  i4: { size: 4, read: (v, at) => v.getInt32(at, true) },
  u4: { size: 4, read: (v, at) => v.getUint32(at, true) },
  i2: { size: 2, read: (v, at) => v.getInt16(at, true) },
  u2: { size: 2, read: (v, at) => v.getUint16(at, true) },
  i1: { size: 1, read: (v, at) => v.getInt8(at) },
  u1: { size: 1, read: (v, at) => v.getUint8(at) },
};
const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/** The shape of a typed array: `"3, 4"` (plotly.py) or `[3, 4]`; absent: one dimension. */
function shapeOf(shape: unknown, what: string): number[] | null {
  if (shape === undefined) return null;
  const parts = Array.isArray(shape) ? shape : typeof shape === "string" ? shape.split(",") : null;
  const dims = parts?.map((p) => Number(typeof p === "string" ? p.trim() : p));
  if (!dims || dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 0))
    throw new Unreadable(`${what} has a shape that is not a list of sizes`);
  return dims;
}

/** Decodes `{dtype, bdata}`; refuses more than `limit` values before decoding them. */
function decodeTyped(spec: Obj, what: string, limit: number): { values: number[]; shape: number[] | null } {
  const type = typeof spec.dtype === "string" ? DTYPES[spec.dtype] : undefined;
  if (!type)
    throw new Unreadable(
      `${what} is a typed array of type "${String(spec.dtype).slice(0, 10)}", not one of ${Object.keys(DTYPES).join(", ")}`,
    );
  if (typeof spec.bdata !== "string" || !BASE64.test(spec.bdata))
    throw new Unreadable(`${what} is a typed array whose bdata is not base64`);
  const shape = shapeOf(spec.shape, what);
  const padding = spec.bdata.trimEnd().endsWith("==") ? 2 : spec.bdata.trimEnd().endsWith("=") ? 1 : 0;
  const bytesAbout = Math.floor((spec.bdata.length * 3) / 4) - padding;
  if (bytesAbout / type.size > limit)
    throw new PlotParseError(
      `${what} has more than ${limit.toLocaleString("en")} values: too many to accept`,
    );
  const bytes = Buffer.from(spec.bdata, "base64");
  if (bytes.length % type.size !== 0)
    throw new Unreadable(`${what} has ${bytes.length} bytes, not a whole number of ${spec.dtype} values`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const values: number[] = new Array(bytes.length / type.size);
  for (let i = 0; i < values.length; i++) values[i] = type.read(view, i * type.size);
  if (shape && shape.reduce((a, b) => a * b, 1) !== values.length)
    throw new Unreadable(`${what} has ${values.length} values, not the ${shape.join(" × ")} its shape says`);
  return { values, shape };
}

/** One value: a number, a gap (null), or a number written as text ("1.5"); anything else is unreadable. */
function numberOf(v: unknown, what: string): number {
  if (typeof v === "number") return v;
  if (v === null) return Number.NaN;
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  throw new Unreadable(`${what} holds ${typeof v === "string" ? "text" : typeof v} values, not numbers`);
}

/** A list of numbers (a JSON array or a typed array), at most `limit` of them. */
function numbers(value: unknown, what: string, limit: number = FIGURE_LIMITS.pointsPerTrace): number[] {
  if (Array.isArray(value)) {
    if (value.length > limit)
      throw new PlotParseError(
        `${what} has ${value.length.toLocaleString("en")} values; at most ${limit.toLocaleString("en")} are accepted`,
      );
    const out: number[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      out[i] = typeof v === "number" ? v : numberOf(v, what);
    }
    return out;
  }
  if (isObj(value) && "bdata" in value) {
    const { values, shape } = decodeTyped(value, what, limit);
    if (shape && shape.length > 1) throw new Unreadable(`${what} is ${shape.length}-dimensional, not a list`);
    return values;
  }
  throw new Unreadable(`${what} is not a list of numbers`);
}

/** Rows of numbers (a list of lists, or a 2-D typed array), within the heatmap limits. */
function grid(value: unknown, what: string): number[][] {
  const side = FIGURE_LIMITS.heatmapSide;
  const tooBig = (rows: number, cols: number) =>
    new PlotParseError(`${what} is ${rows} × ${cols}; heatmaps of at most ${side} × ${side} are accepted`);
  if (Array.isArray(value)) {
    if (value.length > side) throw tooBig(value.length, Array.isArray(value[0]) ? value[0].length : 1);
    if (!value.every(Array.isArray)) throw new Unreadable(`${what} is not a list of rows`);
    const rows = value as unknown[][];
    const cols = rows.reduce((m, r) => Math.max(m, r.length), 0);
    if (cols > side) throw tooBig(rows.length, cols);
    // Plotly draws short rows with gaps at their ends.
    return rows.map((r) =>
      Array.from({ length: cols }, (_, i) => (i < r.length ? numberOf(r[i], what) : Number.NaN)),
    );
  }
  if (isObj(value) && "bdata" in value) {
    const { values, shape } = decodeTyped(value, what, side * side);
    if (shape?.length !== 2) throw new Unreadable(`${what} is a typed array without a 2-D shape`);
    const [rows = 0, cols = 0] = shape;
    if (rows > side || cols > side) throw tooBig(rows, cols);
    return Array.from({ length: rows }, (_, r) => values.slice(r * cols, (r + 1) * cols));
  }
  throw new Unreadable(`${what} is not a grid of numbers`);
}

/** Coordinates given as a list, or as a start and step (`x0`, `dx`: Plotly's default 0 and 1). */
function coordinates(trace: Obj, axis: "x" | "y", count: number, what: string): number[] {
  if (trace[axis] !== undefined && trace[axis] !== null) return numbers(trace[axis], `${what} ${axis}`);
  const start = typeof trace[`${axis}0`] === "number" ? (trace[`${axis}0`] as number) : 0;
  const step = typeof trace[`d${axis}`] === "number" ? (trace[`d${axis}`] as number) : 1;
  return Array.from({ length: count }, (_, i) => start + i * step);
}

/** Plotly error bars (`error_y`/`error_x`) as one symmetric value per point; undefined when not shown. */
function errorBars(spec: unknown, base: number[], what: string, notes: string[]): number[] | undefined {
  if (!isObj(spec)) return undefined;
  // plotly.js shows error bars only when given values (an empty {} is what plot1d sends without dy).
  const visible = spec.visible ?? ("array" in spec || "value" in spec);
  if (visible === false) return undefined;
  const type = spec.type ?? ("array" in spec ? "data" : "percent");
  const value = typeof spec.value === "number" ? spec.value : 10;
  switch (type) {
    case "data": {
      if (spec.array === undefined) return undefined;
      const values = numbers(spec.array, what);
      if (spec.symmetric === false && spec.arrayminus !== undefined)
        notes.push(`${what}: uneven error bars are drawn with their upper values`);
      return base.map((_, i) => values[i] ?? Number.NaN);
    }
    case "constant":
      return base.map(() => value);
    case "percent":
      return base.map((b) => (Math.abs(b) * value) / 100);
    case "sqrt":
      return base.map((b) => Math.sqrt(Math.abs(b)));
    default:
      notes.push(`${what} of type "${String(type).slice(0, 20)}" are not drawn`);
      return undefined;
  }
}

function scatterMode(mode: unknown): Trace["mode"] {
  if (typeof mode !== "string") return undefined;
  const lines = mode.includes("lines");
  const markers = mode.includes("markers");
  if (lines && markers) return "lines+markers";
  if (lines) return "lines";
  if (markers) return "markers";
  return undefined;
}

function pointTrace(
  type: "scatter" | "bar",
  raw: Obj,
  name: string | undefined,
  label: string,
  notes: string[],
) {
  if (type === "bar" && raw.orientation === "h") throw new Unreadable("horizontal bars are not drawn");
  if (raw.y === undefined || raw.y === null) throw new Unreadable("it has no y values");
  let y = numbers(raw.y, `${label} y`);
  let x = coordinates(raw, "x", y.length, label);
  if (x.length !== y.length) {
    notes.push(`${label}: x has ${x.length} values and y ${y.length}; drawn up to the shorter`);
    const n = Math.min(x.length, y.length);
    x = x.slice(0, n);
    y = y.slice(0, n);
  }
  const trace: Trace = { type, x, y };
  if (name) trace.name = name;
  const mode = type === "scatter" ? scatterMode(raw.mode) : undefined;
  if (mode) trace.mode = mode;
  const ey = errorBars(raw.error_y, y, `${label} error bars of y`, notes);
  if (ey) trace.error_y = ey;
  const ex = errorBars(raw.error_x, x, `${label} error bars of x`, notes);
  if (ex) {
    trace.error_x = ex;
    // SNS plot1d(show_dx=False) keeps dx as data with thickness 0: in the download, not drawn.
    if (isObj(raw.error_x) && raw.error_x.thickness === 0) trace.show_error_x = false;
  }
  return trace;
}

function heatmapTrace(raw: Obj, name: string | undefined, label: string, notes: string[]): Trace {
  if (raw.z === undefined || raw.z === null) throw new Unreadable("it has no z values");
  let z = grid(raw.z, `${label} z`);
  if (raw.transpose === true) z = (z[0] ?? []).map((_, c) => z.map((row) => row[c] ?? Number.NaN));
  const cols = z[0]?.length ?? 0;
  const coordsFor = (axis: "x" | "y", cells: number) => {
    const coords = coordinates(raw, axis, cells, label);
    if (coords.length === cells || coords.length === cells + 1) return coords;
    notes.push(
      `${label}: ${axis} has ${coords.length} values for ${cells} cells; cells are numbered instead`,
    );
    return Array.from({ length: cells }, (_, i) => i);
  };
  const trace: Trace = { type: "heatmap", x: coordsFor("x", cols), y: coordsFor("y", z.length), z };
  if (name) trace.name = name;
  return trace;
}

/** One Plotly trace, or null (with a note) when it is not one we draw. */
function convertTrace(raw: unknown, index: number, notes: string[]): Trace | null {
  if (!isObj(raw)) {
    notes.push(`trace ${index + 1} is not an object: left out`);
    return null;
  }
  const name = plainText(raw.name, 200);
  const label = `trace ${index + 1}${name ? ` (${name})` : ""}`;
  if (raw.visible === false || raw.visible === "legendonly") {
    notes.push(`${label} is hidden in the upload: not drawn`);
    return null;
  }
  const type = typeof raw.type === "string" ? raw.type : "scatter";
  if (
    (typeof raw.xaxis === "string" && raw.xaxis !== "x") ||
    (typeof raw.yaxis === "string" && raw.yaxis !== "y")
  )
    notes.push(`${label} is on a second axis in the upload: drawn on the first`);
  try {
    switch (type) {
      case "scatter":
      case "scattergl":
        return pointTrace("scatter", raw, name, label, notes);
      case "bar":
        return pointTrace("bar", raw, name, label, notes);
      case "heatmap":
      case "heatmapgl":
        return heatmapTrace(raw, name, label, notes);
      case "surface":
      case "contour":
        notes.push(`${label}: a ${type} is drawn as a heatmap`);
        return heatmapTrace(raw, name, label, notes);
      default:
        notes.push(`${label}: "${type.slice(0, 40)}" traces are not drawn (only scatter, bar and heatmap)`);
        return null;
    }
  } catch (e) {
    if (!(e instanceof Unreadable)) throw e;
    notes.push(`${label} left out: ${e.message}`);
    return null;
  }
}

function convertAxis(raw: unknown, which: string, notes: string[]): Axis | undefined {
  if (!isObj(raw)) return undefined;
  const axis: Axis = {};
  const title = plainText(raw.title);
  if (title) axis.title = title;
  if (raw.type === "log") axis.type = "log";
  else if (typeof raw.type === "string" && !["linear", "-", ""].includes(raw.type))
    notes.push(`the ${which} axis type "${raw.type.slice(0, 20)}" is drawn as a linear axis`);
  return Object.keys(axis).length > 0 ? axis : undefined;
}

/**
 * A Plotly figure's `data` and `layout` (parsed JSON, from an upload or a `<div>`) as our
 * checked Figure. Throws PlotParseError when a limit is passed or nothing drawable remains.
 */
export function figureFromPlotly(data: unknown, layout: unknown): Figure {
  if (!Array.isArray(data)) throw new PlotParseError("the plot's data is not a list of traces");
  if (data.length > FIGURE_LIMITS.traces)
    throw new PlotParseError(
      `the plot has ${data.length} traces; at most ${FIGURE_LIMITS.traces} are accepted`,
    );
  const notes: string[] = [];
  const traces = data.map((t, i) => convertTrace(t, i, notes)).filter((t): t is Trace => t !== null);
  if (traces.length === 0)
    throw new PlotParseError(
      `no trace we can draw: ${notes.length > 0 ? notes.join("; ") : "the plot has no traces"}`,
    );
  const figure: Figure = { data: traces, layout: {} };
  if (isObj(layout)) {
    const title = plainText(layout.title);
    if (title) figure.layout.title = title;
    const xaxis = convertAxis(layout.xaxis, "x", notes);
    if (xaxis) figure.layout.xaxis = xaxis;
    const yaxis = convertAxis(layout.yaxis, "y", notes);
    if (yaxis) figure.layout.yaxis = yaxis;
    if (typeof layout.showlegend === "boolean") figure.layout.showlegend = layout.showlegend;
  }
  if (notes.length > 0) figure.notes = notes;
  return figure;
}

const SeriesBody = z.strictObject({
  series: z.array(z.unknown()).min(1, "give at least one series"),
  title: z.string().max(300).optional(),
  x_title: z.string().max(300).optional(),
  y_title: z.string().max(300).optional(),
  x_log: z.boolean().optional(),
  y_log: z.boolean().optional(),
  name: z.unknown().optional(),
  version: z.unknown().optional(),
});
const SeriesItem = z.strictObject({
  x: z.unknown(),
  y: z.unknown(),
  e: z.unknown().optional(),
  dx: z.unknown().optional(),
  name: z.string().max(200).optional(),
  mode: z.enum(["lines", "markers", "lines+markers"]).optional(),
});

/** Our simple format: `{series: [{x, y, e?, dx?, name?, mode?}], title?, x_title?, y_title?, x_log?, y_log?}`. */
export function figureFromSeries(body: unknown): Figure {
  const top = SeriesBody.safeParse(body);
  if (!top.success)
    throw new PlotParseError(`the series are not in the expected shape: ${describeIssues(top.error)}`);
  const { series, title, x_title, y_title, x_log, y_log } = top.data;
  if (series.length > FIGURE_LIMITS.traces)
    throw new PlotParseError(`${series.length} series; at most ${FIGURE_LIMITS.traces} are accepted`);
  const traces = series.map((raw, i) => {
    const what = `series ${i + 1}`;
    const item = SeriesItem.safeParse(raw);
    if (!item.success)
      throw new PlotParseError(`${what} is not in the expected shape: ${describeIssues(item.error)}`);
    try {
      const x = numbers(item.data.x, `${what} x`);
      const y = numbers(item.data.y, `${what} y`);
      const same = (values: number[], key: string) => {
        if (values.length !== x.length)
          throw new PlotParseError(
            `${what}: ${key} has ${values.length} values and x ${x.length}; give one per point`,
          );
        return values;
      };
      const trace: Trace = { type: "scatter", x, y: same(y, "y") };
      const name = plainText(item.data.name, 200);
      if (name) trace.name = name;
      if (item.data.mode) trace.mode = item.data.mode;
      if (item.data.e !== undefined) trace.error_y = same(numbers(item.data.e, `${what} e`), "e");
      if (item.data.dx !== undefined) trace.error_x = same(numbers(item.data.dx, `${what} dx`), "dx");
      return trace;
    } catch (e) {
      if (e instanceof Unreadable) throw new PlotParseError(e.message);
      throw e;
    }
  });
  const figure: Figure = { data: traces, layout: {} };
  const plainTitle = plainText(title);
  if (plainTitle) figure.layout.title = plainTitle;
  const axis = (t: string | undefined, log: boolean | undefined): Axis | undefined => {
    const a: Axis = {};
    const text = plainText(t);
    if (text) a.title = text;
    if (log) a.type = "log";
    return Object.keys(a).length > 0 ? a : undefined;
  };
  const xaxis = axis(x_title, x_log);
  if (xaxis) figure.layout.xaxis = xaxis;
  const yaxis = axis(y_title, y_log);
  if (yaxis) figure.layout.yaxis = yaxis;
  return figure;
}

const PlotMeta = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  version: z.number().int().nonnegative().optional(),
});

/** A JSON upload (already parsed): a Plotly figure `{data, layout}` or series `{series: [...]}`, with optional `name` and `version`. */
export function parsePlotBody(body: unknown): ParsedPlot {
  if (!isObj(body))
    throw new PlotParseError(
      "the upload must be a JSON object: a Plotly figure {data, layout} or series {series: [...]}",
    );
  const meta = PlotMeta.safeParse({ name: body.name, version: body.version });
  if (!meta.success) throw new PlotParseError(`bad name or version: ${describeIssues(meta.error)}`);
  const parsed: ParsedPlot =
    "series" in body
      ? { figure: figureFromSeries(body), source: "series" }
      : "data" in body
        ? { figure: figureFromPlotly(body.data, body.layout), source: "plotly-json" }
        : (() => {
            throw new PlotParseError(
              "the upload has neither `data` (a Plotly figure) nor `series`: see docs/scripts.md, Publishing plots",
            );
          })();
  const name = meta.data.name === undefined ? undefined : plainText(meta.data.name, 100);
  if (name) parsed.name = name;
  if (meta.data.version !== undefined) parsed.version = meta.data.version;
  return parsed;
}

/** An upload as text (the SNS form's file, a plot file): a Plotly `<div>`, or JSON as in parsePlotBody. */
export function parsePlotText(text: string): ParsedPlot {
  const body = text.replace(/^\uFEFF/, "");
  if (body.trimStart().startsWith("<")) {
    const { data, layout } = extractPlotlyDiv(body);
    return { figure: figureFromPlotly(data, layout), source: "plotly-div" };
  }
  if (body.trim() === "") throw new PlotParseError("the upload is empty");
  return parsePlotBody(parseLenientJson(body, "upload"));
}
