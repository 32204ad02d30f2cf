import type { Axis, Figure, Trace } from "./figure.ts";

/** Colours of successive traces (colour-blind safe, Okabe–Ito). */
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const MARGIN = { left: 64, right: 16, top: 34, bottom: 46 };

interface Scale {
  toPx(v: number): number;
  ticks: number[];
  format(v: number): string;
}

/** Round tick positions covering [lo, hi] (about `count` of them). */
function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

const fmt = (v: number) =>
  Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(4)));

function scale(values: number[], axis: Axis | undefined, from: number, to: number): Scale {
  const log = axis?.type === "log";
  const usable = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  let lo = usable.length ? Math.min(...usable) : 0;
  let hi = usable.length ? Math.max(...usable) : 1;
  if (log) {
    lo = Math.log10(lo);
    hi = Math.log10(hi);
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const t = (v: number) => (log ? Math.log10(v) : v);
  const ticks = log
    ? niceTicks(Math.floor(lo), Math.ceil(hi), Math.min(8, Math.ceil(hi) - Math.floor(lo))).map(
        (e) => 10 ** e,
      )
    : niceTicks(lo, hi, 6);
  return {
    toPx: (v) => from + ((t(v) - lo) / (hi - lo)) * (to - from),
    ticks: ticks.filter((v) => t(v) >= lo - 1e-9 && t(v) <= hi + 1e-9),
    format: fmt,
  };
}

/**
 * Draws a figure as an SVG element (server-side; no script). Text from the figure (titles, trace
 * names) is rendered as text nodes, escaped like every string Preact renders.
 */
export function FigureSvg({
  figure,
  width = 720,
  height = 380,
  label,
}: {
  figure: Figure;
  width?: number;
  height?: number;
  /** What the picture shows, for screen readers. */
  label: string;
}) {
  const traces = figure.data.filter((t) => t.type !== "heatmap");
  const xs = traces.flatMap((t) => t.x);
  const ys = traces.flatMap((t) => [
    ...t.y,
    ...(t.error_y ? t.y.map((y, i) => y + (t.error_y?.[i] ?? 0)) : []),
    ...(t.error_y ? t.y.map((y, i) => y - (t.error_y?.[i] ?? 0)) : []),
  ]);
  const { xaxis, yaxis, title } = figure.layout;
  const x = scale(xs, xaxis, MARGIN.left, width - MARGIN.right);
  const y = scale(ys, yaxis, height - MARGIN.bottom, MARGIN.top);
  const finite = (a: number, b: number) => Number.isFinite(a) && Number.isFinite(b);
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={label}
      font-family="system-ui, sans-serif"
      font-size="12"
    >
      <title>{label}</title>
      <rect
        x={MARGIN.left}
        y={MARGIN.top}
        width={width - MARGIN.left - MARGIN.right}
        height={height - MARGIN.top - MARGIN.bottom}
        fill="#fff"
        stroke="#c9ced6"
      />
      {title ? (
        <text x={width / 2} y={20} text-anchor="middle" font-size="14" font-weight="600">
          {title}
        </text>
      ) : null}
      {x.ticks.map((t) => (
        <g key={`x${t}`}>
          <line x1={x.toPx(t)} x2={x.toPx(t)} y1={MARGIN.top} y2={height - MARGIN.bottom} stroke="#eef0f3" />
          <text x={x.toPx(t)} y={height - MARGIN.bottom + 16} text-anchor="middle" fill="#444">
            {x.format(t)}
          </text>
        </g>
      ))}
      {y.ticks.map((t) => (
        <g key={`y${t}`}>
          <line x1={MARGIN.left} x2={width - MARGIN.right} y1={y.toPx(t)} y2={y.toPx(t)} stroke="#eef0f3" />
          <text x={MARGIN.left - 6} y={y.toPx(t) + 4} text-anchor="end" fill="#444">
            {y.format(t)}
          </text>
        </g>
      ))}
      {xaxis?.title ? (
        <text x={(MARGIN.left + width - MARGIN.right) / 2} y={height - 8} text-anchor="middle" fill="#222">
          {xaxis.title}
        </text>
      ) : null}
      {yaxis?.title ? (
        <text
          x={14}
          y={(MARGIN.top + height - MARGIN.bottom) / 2}
          text-anchor="middle"
          fill="#222"
          transform={`rotate(-90 14 ${(MARGIN.top + height - MARGIN.bottom) / 2})`}
        >
          {yaxis.title}
        </text>
      ) : null}
      {traces.map((trace, i) => (
        <TraceMarks
          key={`t${i}`}
          trace={trace}
          colour={COLOURS[i % COLOURS.length] ?? "#000"}
          x={x}
          y={y}
          finite={finite}
          bottom={height - MARGIN.bottom}
        />
      ))}
      {traces.length > 1
        ? traces.map((trace, i) => (
            <text
              key={`l${i}`}
              x={width - MARGIN.right - 6}
              y={MARGIN.top + 16 + i * 15}
              text-anchor="end"
              fill={COLOURS[i % COLOURS.length]}
            >
              {trace.name ?? `trace ${i + 1}`}
            </text>
          ))
        : null}
    </svg>
  );
}

function TraceMarks({
  trace,
  colour,
  x,
  y,
  finite,
  bottom,
}: {
  trace: Trace;
  colour: string;
  x: Scale;
  y: Scale;
  finite: (a: number, b: number) => boolean;
  bottom: number;
}) {
  const points = trace.x
    .map((xv, i) => [x.toPx(xv), y.toPx(trace.y[i] ?? Number.NaN)] as const)
    .filter(([a, b]) => finite(a, b));
  if (trace.type === "bar") {
    const w = Math.max(
      1,
      Math.min(24, (points.length > 1 ? Math.abs((points[1]?.[0] ?? 0) - (points[0]?.[0] ?? 0)) : 20) * 0.8),
    );
    return (
      <g fill={colour}>
        {points.map(([px, py], i) => (
          <rect key={i} x={px - w / 2} y={Math.min(py, bottom)} width={w} height={Math.abs(bottom - py)} />
        ))}
      </g>
    );
  }
  const mode = trace.mode ?? (points.length > 200 ? "lines" : "lines+markers");
  return (
    <g>
      {trace.error_y
        ? trace.x.map((xv, i) => {
            const yv = trace.y[i] ?? Number.NaN;
            const e = trace.error_y?.[i] ?? 0;
            const px = x.toPx(xv);
            const a = y.toPx(yv - e);
            const b = y.toPx(yv + e);
            return finite(px, a) && finite(px, b) ? (
              <line key={`e${i}`} x1={px} x2={px} y1={a} y2={b} stroke={colour} stroke-opacity="0.6" />
            ) : null;
          })
        : null}
      {mode.includes("lines") ? (
        <polyline
          fill="none"
          stroke={colour}
          stroke-width="1.6"
          points={points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")}
        />
      ) : null}
      {mode.includes("markers")
        ? points.map(([a, b], i) => <circle key={`m${i}`} cx={a} cy={b} r="2.6" fill={colour} />)
        : null}
    </g>
  );
}
