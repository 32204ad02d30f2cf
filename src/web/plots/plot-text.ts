import type { Figure, Trace } from "../views/figure.ts";

/**
 * A plot's data as plain text columns, like WebMon's `/report/<inst>/<run>/data/` download
 * (`# INST Run N` / `# X Y dY dX`): every point (not the thinned copy that is drawn), one block
 * per trace, blank line between blocks. Gaps are written `nan`. Heatmaps are written one cell
 * per line: `# X Y Z` (cell centres).
 */
export function plotAsText(plot: {
  instrument: string;
  run: number;
  name: string;
  version: number | null;
  figure: Figure;
}): string {
  const lines = [
    `# ${plot.instrument} Run ${plot.run}`,
    `# ${oneLine(plot.name)}${plot.version === null ? "" : ` (version ${plot.version})`}`,
  ];
  const { title, xaxis, yaxis } = plot.figure.layout;
  if (title) lines.push(`# title: ${oneLine(title)}`);
  if (xaxis?.title) lines.push(`# X: ${oneLine(xaxis.title)}`);
  if (yaxis?.title) lines.push(`# Y: ${oneLine(yaxis.title)}`);
  for (const note of plot.figure.notes ?? []) lines.push(`# note: ${oneLine(note)}`);
  if (plot.figure.data.length === 0) lines.push("# (no data)");
  plot.figure.data.forEach((trace, i) => {
    lines.push("", `# ${oneLine(trace.name ?? `trace ${i + 1}`)}`);
    lines.push(...(trace.type === "heatmap" ? heatmapLines(trace) : pointLines(trace)));
  });
  return `${lines.join("\n")}\n`;
}

const oneLine = (text: string) => text.replace(/[\r\n]+/g, " ");
const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "nan" : String(v));

function pointLines(trace: Trace): string[] {
  const columns = ["X", "Y", ...(trace.error_y ? ["dY"] : []), ...(trace.error_x ? ["dX"] : [])];
  const out = [`# ${columns.join(" ")}`];
  for (let i = 0; i < trace.x.length; i++) {
    const row = [num(trace.x[i]), num(trace.y[i])];
    if (trace.error_y) row.push(num(trace.error_y[i]));
    if (trace.error_x) row.push(num(trace.error_x[i]));
    out.push(row.join(" "));
  }
  return out;
}

/** Cell centres of coordinates that are centres (as many as cells) or edges (one more). */
function centres(coords: number[], cells: number): number[] {
  if (coords.length === cells + 1)
    return coords.slice(0, cells).map((c, i) => (c + (coords[i + 1] ?? c)) / 2);
  return Array.from({ length: cells }, (_, i) => coords[i] ?? i);
}

function heatmapLines(trace: Trace): string[] {
  const z = trace.z ?? [];
  const cols = z.reduce((m, row) => Math.max(m, row.length), 0);
  const xs = centres(trace.x, cols);
  const ys = centres(trace.y, z.length);
  const out = ["# X Y Z"];
  z.forEach((row, r) => {
    for (let c = 0; c < cols; c++) out.push(`${num(xs[c])} ${num(ys[r])} ${num(row[c])}`);
  });
  return out;
}
