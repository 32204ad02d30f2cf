/**
 * A figure as the pages draw it: a small, checked subset of Plotly's figure model (scatter and
 * bar traces, error bars, heatmaps; linear or log axes). Uploaded plots (Plotly JSON, Plotly
 * `<div>` exports, x/y/e series) are parsed into this; charts of our own (run durations, queue
 * depths) are built as one. Rendered by views/figure-svg.tsx on the server, so plots need no
 * browser script and nothing uploaded is ever inserted as HTML.
 *
 * Numbers that are missing or not finite (NaN, ±Infinity; stored as JSON `null`) are gaps: a
 * line breaks there and no marker is drawn.
 */
export interface Trace {
  type: "scatter" | "bar" | "heatmap";
  name?: string;
  /** scatter: `lines`, `markers` or `lines+markers` (absent: markers and lines for short traces, lines for long). */
  mode?: "lines" | "markers" | "lines+markers";
  /** scatter, bar: one per point. heatmap: column centres, or column edges (one more than columns). */
  x: number[];
  /** scatter, bar: one per point. heatmap: row centres, or row edges (one more than rows). */
  y: number[];
  /** Symmetric error bars of y (one per point). */
  error_y?: number[];
  /** Symmetric error bars of x (one per point): in the data download always, drawn unless `show_error_x` is false. */
  error_x?: number[];
  show_error_x?: boolean;
  /** heatmap: rows of values (y by x). */
  z?: number[][];
}

export interface Axis {
  title?: string;
  type?: "linear" | "log";
}

export interface Figure {
  data: Trace[];
  layout: { title?: string; xaxis?: Axis; yaxis?: Axis; showlegend?: boolean };
  /** What the upload had that is not drawn (a trace type we do not draw, an axis type), for the page to say. */
  notes?: string[];
}

/** What an uploaded plot may hold (larger ones are refused with a message saying which limit). */
export const FIGURE_LIMITS = {
  traces: 20,
  pointsPerTrace: 200_000,
  heatmapSide: 1000,
  /** Points per trace drawn: longer traces are strided (the download keeps every point). */
  drawnPoints: 5000,
  /** Heatmap cells drawn per side: larger grids are averaged in blocks. */
  drawnCells: 200,
} as const;

/** Turns the `null`s of stored JSON back into gaps (NaN), so drawing code sees only numbers. */
export function reviveFigure(figure: Figure): Figure {
  const nums = (a: readonly (number | null)[] | undefined) => a?.map((v) => (v === null ? Number.NaN : v));
  return {
    ...figure,
    data: figure.data.map((t) => {
      const revived: Trace = { ...t, x: nums(t.x) ?? [], y: nums(t.y) ?? [] };
      if (t.error_y) revived.error_y = nums(t.error_y);
      if (t.error_x) revived.error_x = nums(t.error_x);
      if (t.z) revived.z = t.z.map((row) => nums(row) ?? []);
      return revived;
    }),
  };
}

/** Every `step`-th element, the last one always kept (a curve keeps its end), at most `limit`. */
function stride<T>(values: readonly T[], step: number, limit: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < values.length; i += step) out.push(values[i] as T);
  if ((values.length - 1) % step !== 0 && values.length > 0) {
    const last = values[values.length - 1] as T;
    if (out.length < limit) out.push(last);
    else out[out.length - 1] = last;
  }
  return out;
}

/**
 * Cell edges from centres (midpoints, the ends extrapolated by half a cell) or edges as given;
 * indices when the coordinates do not match the number of cells.
 */
export function cellEdges(coords: readonly number[], cells: number): number[] {
  if (coords.length === cells + 1) return [...coords];
  if (coords.length !== cells) return Array.from({ length: cells + 1 }, (_, i) => i - 0.5);
  if (cells === 1) {
    const c = coords[0] ?? 0;
    return [c - 0.5, c + 0.5];
  }
  const edges: number[] = [];
  for (let i = 0; i <= cells; i++) {
    if (i === 0) edges.push((coords[0] ?? 0) - ((coords[1] ?? 0) - (coords[0] ?? 0)) / 2);
    else if (i === cells)
      edges.push((coords[cells - 1] ?? 0) + ((coords[cells - 1] ?? 0) - (coords[cells - 2] ?? 0)) / 2);
    else edges.push(((coords[i - 1] ?? 0) + (coords[i] ?? 0)) / 2);
  }
  return edges;
}

/** The mean of the finite values of a block of a grid (NaN when it has none). */
function blockMean(
  z: readonly (readonly number[])[],
  r0: number,
  r1: number,
  c0: number,
  c1: number,
): number {
  let sum = 0;
  let n = 0;
  for (let r = r0; r < r1; r++) {
    const row = z[r];
    if (!row) continue;
    for (let c = c0; c < c1; c++) {
      const v = row[c];
      if (v !== undefined && Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
  }
  return n === 0 ? Number.NaN : sum / n;
}

/** A heatmap with at most `limit` cells per side (blocks averaged), its x and y as cell edges. */
function heatmapForDrawing(trace: Trace, limit: number): Trace {
  const z = trace.z ?? [];
  const rows = z.length;
  const cols = z.reduce((m, row) => Math.max(m, row.length), 0);
  const xEdges = cellEdges(trace.x, cols);
  const yEdges = cellEdges(trace.y, rows);
  const bx = Math.max(1, Math.ceil(cols / limit));
  const by = Math.max(1, Math.ceil(rows / limit));
  if (bx === 1 && by === 1) return { ...trace, x: xEdges, y: yEdges };
  const outCols = Math.ceil(cols / bx);
  const outRows = Math.ceil(rows / by);
  const grid: number[][] = [];
  for (let r = 0; r < outRows; r++) {
    const row: number[] = [];
    for (let c = 0; c < outCols; c++)
      row.push(blockMean(z, r * by, Math.min(rows, (r + 1) * by), c * bx, Math.min(cols, (c + 1) * bx)));
    grid.push(row);
  }
  const pick = (edges: number[], block: number, cells: number) =>
    Array.from({ length: cells + 1 }, (_, i) => edges[Math.min(edges.length - 1, i * block)] ?? Number.NaN);
  return { ...trace, x: pick(xEdges, bx, outCols), y: pick(yEdges, by, outRows), z: grid };
}

/**
 * The figure as drawn: traces longer than `FIGURE_LIMITS.drawnPoints` strided, heatmaps larger
 * than `FIGURE_LIMITS.drawnCells` a side averaged in blocks (their x and y then cell edges).
 * Returns the same object when nothing needs thinning.
 */
export function drawingCopy(figure: Figure): Figure {
  const needs = figure.data.some((t) =>
    t.type === "heatmap"
      ? (t.z?.length ?? 0) > FIGURE_LIMITS.drawnCells ||
        (t.z ?? []).some((row) => row.length > FIGURE_LIMITS.drawnCells)
      : t.x.length > FIGURE_LIMITS.drawnPoints,
  );
  if (!needs) return figure;
  return {
    ...figure,
    data: figure.data.map((t) => {
      if (t.type === "heatmap") return heatmapForDrawing(t, FIGURE_LIMITS.drawnCells);
      if (t.x.length <= FIGURE_LIMITS.drawnPoints) return t;
      const step = Math.ceil(t.x.length / FIGURE_LIMITS.drawnPoints);
      const thin = <T>(values: readonly T[]) => stride(values, step, FIGURE_LIMITS.drawnPoints);
      const thinned: Trace = { ...t, x: thin(t.x), y: thin(t.y) };
      if (t.error_y) thinned.error_y = thin(t.error_y);
      if (t.error_x) thinned.error_x = thin(t.error_x);
      return thinned;
    }),
  };
}

/** How many numbers a figure holds (for the size of caches). */
export function figureSize(figure: Figure): number {
  return figure.data.reduce(
    (n, t) =>
      n +
      t.x.length +
      t.y.length +
      (t.error_y?.length ?? 0) +
      (t.error_x?.length ?? 0) +
      (t.z ?? []).reduce((m, row) => m + row.length, 0),
    0,
  );
}
