/**
 * A figure as the pages draw it: a small, checked subset of Plotly's figure model (scatter and
 * bar traces, error bars, heatmaps; linear or log axes). Uploaded plots (Plotly JSON, Plotly
 * `<div>` exports, x/y/e series) are parsed into this; charts of our own (run durations, queue
 * depths) are built as one. Rendered by views/figure-svg.tsx on the server, so plots need no
 * browser script and nothing uploaded is ever inserted as HTML.
 */
export interface Trace {
  type: "scatter" | "bar" | "heatmap";
  name?: string;
  /** scatter: `lines`, `markers` or `lines+markers`. */
  mode?: "lines" | "markers" | "lines+markers";
  x: number[];
  y: number[];
  /** Symmetric error bars (one per point). */
  error_y?: number[];
  /** heatmap: rows of values (y by x). */
  z?: number[][];
}

export interface Axis {
  title?: string;
  type?: "linear" | "log";
}

export interface Figure {
  data: Trace[];
  layout: { title?: string; xaxis?: Axis; yaxis?: Axis };
}
