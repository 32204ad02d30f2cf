import { type Axis, cellEdges, drawingCopy, type Figure, type Trace } from "./figure.ts";

/**
 * Server-side drawing of a Figure as SVG (no script, no raster): linear and log axes (log ticks at
 * decades, 2× and 5× between when few decades show), error bars, bars, heatmaps (cells as
 * filled paths, one per colour level of a viridis scale, with a colour bar), a legend, gaps at
 * missing and non-finite values (and at values ≤ 0 on a log axis), and a plain "nothing to draw"
 * when no point is drawable. Long traces and large heatmaps are thinned first (figure.ts
 * `drawingCopy`). Every text from the figure is a text node, escaped like all Preact output.
 */

/** Colours of successive traces (colour-blind safe, Okabe–Ito). */
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
/** Viridis at 0, 0.1, … 1 (matplotlib's), interpolated between. */
const VIRIDIS = [
  "#440154",
  "#482475",
  "#414487",
  "#355f8d",
  "#2a788e",
  "#21918c",
  "#22a884",
  "#44bf70",
  "#7ad151",
  "#bddf26",
  "#fde725",
];
/** Colour levels of a heatmap (cells of one level are one path). */
const LEVELS = 64;
const SUPERSCRIPT: Record<string, string> = {
  "0": "⁰",
  "1": "¹",
  "2": "²",
  "3": "³",
  "4": "⁴",
  "5": "⁵",
  "6": "⁶",
  "7": "⁷",
  "8": "⁸",
  "9": "⁹",
  "-": "⁻",
};

interface Tick {
  value: number;
  label: string;
}

interface Scale {
  log: boolean;
  /** Whether a value can be placed (finite; > 0 on a log axis). */
  valid(v: number | undefined): v is number;
  toPx(v: number): number;
  ticks: Tick[];
  /** Unlabelled ticks (2…9 × each decade on a log axis). */
  minor: number[];
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const power = (k: number) => `10${String(k).replace(/[-0-9]/g, (c) => SUPERSCRIPT[c] ?? c)}`;

/** A number for a tick label: plain, or m×10ⁿ when very large or small. */
function formatNumber(v: number, step: number): string {
  if (v === 0) return "0";
  const magnitude = Math.abs(v);
  if (magnitude >= 1e6 || magnitude < 1e-3) {
    const exp = Math.floor(Math.log10(magnitude));
    const mantissa = Number((v / 10 ** exp).toPrecision(3));
    return mantissa === 1 ? power(exp) : `${mantissa}×${power(exp)}`;
  }
  const decimals = Math.min(10, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

/** Round tick values covering [lo, hi], about `count` of them. */
function niceTicks(lo: number, hi: number, count: number, minStep = 0): Tick[] {
  if (!(hi > lo)) return [{ value: lo, label: formatNumber(lo, Math.abs(lo) || 1) }];
  const rough = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(minStep, [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= rough) ?? 10 * mag);
  const out: Tick[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    const value = Number(v.toPrecision(12));
    out.push({ value, label: formatNumber(value, step) });
  }
  return out;
}

/** Ticks of a log axis spanning 10^lo … 10^hi. */
function logTicks(lo: number, hi: number, count: number): { ticks: Tick[]; minor: number[] } {
  const first = Math.ceil(lo - 1e-9);
  const last = Math.floor(hi + 1e-9);
  const decades = last - first + 1;
  const inside = (v: number) => Math.log10(v) >= lo - 1e-9 && Math.log10(v) <= hi + 1e-9;
  const decadeLabel = (k: number) => (Math.abs(k) <= 3 ? formatNumber(10 ** k, 10 ** k) : power(k));
  if (decades <= 2) {
    // Few decades: 1, 2 and 5 of each are labelled (plain numbers), 3…9 are minor ticks.
    const ticks: Tick[] = [];
    const minor: number[] = [];
    for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
      for (let m = 1; m <= 9; m++) {
        const v = Number((m * 10 ** k).toPrecision(12));
        if (!inside(v)) continue;
        if (m === 1 || m === 2 || m === 5) ticks.push({ value: v, label: formatNumber(v, 10 ** k) });
        else minor.push(v);
      }
    }
    if (ticks.length >= 2) return { ticks, minor };
    return { ticks: niceTicks(10 ** lo, 10 ** hi, count).filter((t) => t.value > 0), minor: [] };
  }
  const every = Math.max(1, Math.ceil(decades / count));
  const ticks: Tick[] = [];
  const minor: number[] = [];
  for (let k = first; k <= last; k++)
    if ((k - first) % every === 0) ticks.push({ value: 10 ** k, label: decadeLabel(k) });
  if (every === 1 && decades <= 6)
    for (let k = first - 1; k <= last; k++)
      for (let m = 2; m <= 9; m++) if (inside(m * 10 ** k)) minor.push(m * 10 ** k);
  return { ticks, minor };
}

/** The smallest and largest value an axis must show (in log10 on a log axis); values it cannot show are skipped. */
class Range {
  lo = Number.POSITIVE_INFINITY;
  hi = Number.NEGATIVE_INFINITY;
  /** Every value is a whole number (run numbers, counts): ticks are then never fractional. */
  integers = true;
  constructor(readonly log: boolean) {}

  add(v: number): void {
    if (!Number.isFinite(v) || (this.log && v <= 0)) return;
    if (!Number.isInteger(v)) this.integers = false;
    const t = this.log ? Math.log10(v) : v;
    if (t < this.lo) this.lo = t;
    if (t > this.hi) this.hi = t;
  }
}

/**
 * The scale of an axis over a range, from pixel `from` to `to`, padded a little (plotly's
 * autorange); `zero` keeps 0 in range (bars).
 */
function makeScale(range: Range, from: number, to: number, zero = false): Scale {
  const { log } = range;
  let { lo, hi } = range;
  const valid = (v: number | undefined): v is number =>
    v !== undefined && Number.isFinite(v) && (!log || v > 0);
  if (zero && !log) {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  if (lo > hi) {
    lo = 0;
    hi = 1;
  } else if (lo === hi) {
    const pad = log ? 0.5 : Math.abs(lo) * 0.1 || 0.5;
    lo -= pad;
    hi += pad;
  } else {
    const pad = (hi - lo) * 0.03;
    if (!(zero && !log && lo === 0)) lo -= pad;
    if (!(zero && !log && hi === 0)) hi += pad;
  }
  const count = Math.max(2, Math.round(Math.abs(to - from) / 70));
  const { ticks, minor } = log
    ? logTicks(lo, hi, count)
    : { ticks: niceTicks(lo, hi, count, range.integers ? 1 : 0), minor: [] };
  const factor = (to - from) / (hi - lo);
  const toPx = log
    ? (v: number) => from + (Math.log10(v) - lo) * factor
    : (v: number) => from + (v - lo) * factor;
  const visible = (v: number) => {
    const t = log ? Math.log10(v) : v;
    return t >= lo - 1e-9 * Math.abs(hi - lo) && t <= hi + 1e-9 * Math.abs(hi - lo);
  };
  return { log, valid, toPx, ticks: ticks.filter((t) => visible(t.value)), minor: minor.filter(visible) };
}

/** Viridis colour at f in [0, 1]. */
function viridis(f: number): string {
  const at = Math.min(1, Math.max(0, f)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(at));
  const parse = (hex: string) => [1, 3, 5].map((o) => Number.parseInt(hex.slice(o, o + 2), 16));
  const a = parse(VIRIDIS[i] ?? "#000000");
  const b = parse(VIRIDIS[i + 1] ?? "#000000");
  const mix = a.map((c, k) => Math.round(c + ((b[k] ?? c) - c) * (at - i)));
  return `#${mix.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}
const LEVEL_COLOURS = Array.from({ length: LEVELS }, (_, i) => viridis((i + 0.5) / LEVELS));

interface ZRange {
  min: number;
  max: number;
}

function zRange(maps: Trace[]): ZRange | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const t of maps)
    for (const row of t.z ?? [])
      for (const v of row)
        if (Number.isFinite(v)) {
          if (v < min) min = v;
          if (v > max) max = v;
        }
  return min <= max ? { min, max } : null;
}

/** The range an axis must show: points (with their error bars) and heatmap cell edges. */
function axisRange(traces: Trace[], axis: "x" | "y", spec: Axis | undefined): Range {
  const range = new Range(spec?.type === "log");
  for (const t of traces) {
    if (t.type === "heatmap") {
      const cells = axis === "x" ? (t.z?.[0]?.length ?? 0) : (t.z?.length ?? 0);
      for (const edge of cellEdges(t[axis], cells)) range.add(edge);
      continue;
    }
    const values = t[axis];
    if (t.type === "bar" && axis === "x") for (const end of barEnds(values)) range.add(end);
    const errors = axis === "y" ? t.error_y : t.show_error_x === false ? undefined : t.error_x;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] ?? Number.NaN;
      range.add(v);
      const e = errors?.[i];
      if (e !== undefined && Number.isFinite(e)) {
        range.add(v + e);
        range.add(v - e);
      }
    }
  }
  return range;
}

/** Half a bar beyond the first and last bar, so that the bars at the ends are drawn whole. */
function barEnds(x: number[]): number[] {
  const sorted = x.filter(Number.isFinite).sort((a, b) => a - b);
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < sorted.length; i++) gap = Math.min(gap, (sorted[i] ?? 0) - (sorted[i - 1] ?? 0));
  const first = sorted[0];
  const last = sorted.at(-1);
  if (first === undefined || last === undefined || !Number.isFinite(gap) || gap <= 0) return [];
  return [first - gap / 2, last + gap / 2];
}

function hasDrawable(traces: Trace[], x: Scale, y: Scale, z: ZRange | null): boolean {
  if (z) return true;
  return traces.some((t) => t.type !== "heatmap" && t.x.some((xv, i) => x.valid(xv) && y.valid(t.y[i])));
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
  const fig = drawingCopy(figure);
  const points = fig.data.filter((t) => t.type !== "heatmap");
  const maps = fig.data.filter((t) => t.type === "heatmap" && (t.z?.length ?? 0) > 0);
  const z = zRange(maps);
  const { xaxis, yaxis, title } = fig.layout;
  const m = { left: 74, right: z ? 100 : 18, top: title ? 38 : 18, bottom: xaxis?.title ? 50 : 34 };
  const area = { left: m.left, right: width - m.right, top: m.top, bottom: height - m.bottom };
  const bars = points.some((t) => t.type === "bar");
  const x = makeScale(axisRange(fig.data, "x", xaxis), area.left, area.right);
  const y = makeScale(axisRange(fig.data, "y", yaxis), area.bottom, area.top, bars);
  const drawable = hasDrawable(fig.data, x, y, z);
  const barTraces = points.filter((t) => t.type === "bar");
  const barWidth = bars ? barSlot(barTraces, x) / barTraces.length : 0;
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={label}
      class="figure"
      data-figure={drawable ? "drawn" : "empty"}
      font-family="system-ui, sans-serif"
      font-size="12"
    >
      <title>{label}</title>
      <rect
        x={area.left}
        y={area.top}
        width={area.right - area.left}
        height={area.bottom - area.top}
        fill="#fff"
        stroke="#9aa3ae"
      />
      {title ? (
        <text x={width / 2} y={22} text-anchor="middle" font-size="14" font-weight="600" fill="#1c2733">
          {clip(title, Math.floor(width / 8))}
        </text>
      ) : null}
      {drawable ? (
        <>
          <Grid x={x} y={y} area={area} />
          {maps.map((t, i) => (z ? <HeatmapCells key={`h${i}`} trace={t} x={x} y={y} z={z} /> : null))}
          {points.map((t, i) => (
            <PointTrace
              key={`t${i}`}
              trace={t}
              colour={COLOURS[i % COLOURS.length] ?? "#000"}
              x={x}
              y={y}
              area={area}
              bar={
                t.type === "bar"
                  ? {
                      width: barWidth,
                      offset: (barTraces.indexOf(t) - (barTraces.length - 1) / 2) * barWidth,
                    }
                  : null
              }
            />
          ))}
          <Axes x={x} y={y} area={area} />
          {z ? <ColourBar z={z} left={area.right + 14} top={area.top} bottom={area.bottom} /> : null}
          <Legend traces={points} showlegend={fig.layout.showlegend} area={area} />
        </>
      ) : (
        <text
          x={(area.left + area.right) / 2}
          y={(area.top + area.bottom) / 2}
          text-anchor="middle"
          fill="#555"
          class="empty"
        >
          Nothing to draw: this plot has no data points that can be shown
          {x.log || y.log ? " (on a log axis only values above 0 can)" : ""}.
        </text>
      )}
      {xaxis?.title ? (
        <text x={(area.left + area.right) / 2} y={height - 10} text-anchor="middle" fill="#1c2733">
          {clip(xaxis.title, Math.floor((area.right - area.left) / 7))}
        </text>
      ) : null}
      {yaxis?.title ? (
        <text
          x={16}
          y={(area.top + area.bottom) / 2}
          text-anchor="middle"
          fill="#1c2733"
          transform={`rotate(-90 16 ${(area.top + area.bottom) / 2})`}
        >
          {clip(yaxis.title, Math.floor((area.bottom - area.top) / 7))}
        </text>
      ) : null}
    </svg>
  );
}

const clip = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;

interface Area {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function Grid({ x, y, area }: { x: Scale; y: Scale; area: Area }) {
  const v = (px: number) => `M${round1(px)} ${area.top}V${area.bottom}`;
  const h = (py: number) => `M${area.left} ${round1(py)}H${area.right}`;
  const minor = [...x.minor.map((t) => v(x.toPx(t))), ...y.minor.map((t) => h(y.toPx(t)))].join("");
  const major = [...x.ticks.map((t) => v(x.toPx(t.value))), ...y.ticks.map((t) => h(y.toPx(t.value)))].join(
    "",
  );
  return (
    <g class="grid" fill="none">
      {minor ? <path stroke="#f3f4f6" d={minor} /> : null}
      {major ? <path stroke="#e3e6ea" d={major} /> : null}
    </g>
  );
}

function Axes({ x, y, area }: { x: Scale; y: Scale; area: Area }) {
  return (
    <>
      <g class="x-axis" fill="#333" text-anchor="middle" data-scale={x.log ? "log" : "linear"}>
        <path
          stroke="#9aa3ae"
          d={[
            ...x.ticks.map((t) => `M${round1(x.toPx(t.value))} ${area.bottom}v5`),
            ...x.minor.map((t) => `M${round1(x.toPx(t))} ${area.bottom}v3`),
          ].join("")}
        />
        {x.ticks.map((t) => (
          <text key={`x${t.value}`} x={round1(x.toPx(t.value))} y={area.bottom + 18}>
            {t.label}
          </text>
        ))}
      </g>
      <g class="y-axis" fill="#333" text-anchor="end" data-scale={y.log ? "log" : "linear"}>
        <path
          stroke="#9aa3ae"
          d={[
            ...y.ticks.map((t) => `M${area.left} ${round1(y.toPx(t.value))}h-5`),
            ...y.minor.map((t) => `M${area.left} ${round1(y.toPx(t))}h-3`),
          ].join("")}
        />
        {y.ticks.map((t) => (
          <text key={`y${t.value}`} x={area.left - 8} y={round1(y.toPx(t.value)) + 4}>
            {t.label}
          </text>
        ))}
      </g>
    </>
  );
}

/** The pixel width each x position of the bars may use (80 % of the closest spacing, at most 40). */
function barSlot(traces: Trace[], x: Scale): number {
  const px = [...new Set(traces.flatMap((t) => t.x.filter((v) => x.valid(v)).map((v) => x.toPx(v))))].sort(
    (a, b) => a - b,
  );
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < px.length; i++) gap = Math.min(gap, (px[i] ?? 0) - (px[i - 1] ?? 0));
  return Math.max(1, Math.min(40, Number.isFinite(gap) ? gap * 0.8 : 30));
}

/** Pixel positions of a trace's points (rounded to 0.1 px); NaN where there is a gap. */
interface Pixels {
  x: Float64Array;
  y: Float64Array;
  drawn: number;
}

function pixelsOf(trace: Trace, x: Scale, y: Scale): Pixels {
  const n = trace.x.length;
  const px = new Float64Array(n).fill(Number.NaN);
  const py = new Float64Array(n).fill(Number.NaN);
  let drawn = 0;
  for (let i = 0; i < n; i++) {
    const xv = trace.x[i];
    const yv = trace.y[i];
    if (x.valid(xv) && y.valid(yv)) {
      px[i] = round1(x.toPx(xv));
      py[i] = round1(y.toPx(yv));
      drawn++;
    }
  }
  return { x: px, y: py, drawn };
}

function PointTrace({
  trace,
  colour,
  x,
  y,
  area,
  bar,
}: {
  trace: Trace;
  colour: string;
  x: Scale;
  y: Scale;
  area: Area;
  bar: { width: number; offset: number } | null;
}) {
  const px = pixelsOf(trace, x, y);
  const errors = errorBarPath(trace, px, x, y, area, px.drawn <= 100, bar?.offset ?? 0);
  const errorBars = errors ? (
    <path class="error-bars" fill="none" stroke={colour} stroke-opacity="0.65" d={errors} />
  ) : null;
  const points = [...px.x.keys()].filter((i) => !Number.isNaN(px.x[i] ?? Number.NaN));
  if (bar) {
    const base = y.log ? area.bottom : Math.min(area.bottom, Math.max(area.top, y.toPx(0)));
    return (
      <g class="trace" data-type="bar" fill={colour} fill-opacity="0.85">
        {points.map((i) => {
          const top = px.y[i] ?? 0;
          return (
            <rect
              key={i}
              x={round1((px.x[i] ?? 0) + bar.offset - bar.width / 2)}
              y={round1(Math.min(top, base))}
              width={round1(bar.width)}
              height={round1(Math.abs(base - top))}
            />
          );
        })}
        {errorBars}
      </g>
    );
  }
  const mode = trace.mode ?? (px.drawn > 200 ? "lines" : "lines+markers");
  return (
    <g class="trace" data-type="scatter">
      {errorBars}
      {mode.includes("lines") ? (
        <path fill="none" stroke={colour} stroke-width="1.6" stroke-linejoin="round" d={linePath(px)} />
      ) : null}
      {mode.includes("markers") ? (
        <g fill={colour}>
          {points.map((i) => (
            <circle key={i} cx={px.x[i]} cy={px.y[i]} r="2.6" />
          ))}
        </g>
      ) : null}
    </g>
  );
}

/** A line through the points, broken at every gap (a lone point between gaps draws nothing). */
function linePath(px: Pixels): string {
  let d = "";
  let run = 0;
  for (let i = 0; i < px.x.length; i++) {
    const a = px.x[i] ?? Number.NaN;
    if (Number.isNaN(a)) {
      run = 0;
      continue;
    }
    const b = px.y[i] ?? Number.NaN;
    d += run === 0 ? `M${a} ${b}` : run === 1 ? `L${a} ${b}` : ` ${a} ${b}`;
    run++;
  }
  return d;
}

/** The error bars of a trace as one path (with caps when there are few points); "" for none. */
function errorBarPath(
  trace: Trace,
  px: Pixels,
  x: Scale,
  y: Scale,
  area: Area,
  caps: boolean,
  shift: number,
): string {
  let d = "";
  // An end below 0 on a log axis runs to the axis.
  const end = (s: Scale, v: number, low: number) =>
    s.valid(v) ? round1(s.toPx(v)) : s.log ? low : Number.NaN;
  const ey = trace.error_y;
  const ex = trace.show_error_x === false ? undefined : trace.error_x;
  if (!ey && !ex) return d;
  for (let i = 0; i < px.x.length; i++) {
    const cx0 = px.x[i] ?? Number.NaN;
    if (Number.isNaN(cx0)) continue;
    const cx = round1(cx0 + shift);
    const cy = px.y[i] ?? 0;
    const e = ey?.[i];
    if (e !== undefined && e > 0 && Number.isFinite(e)) {
      const yv = trace.y[i] ?? 0;
      const lo = end(y, yv - e, area.bottom);
      const hi = end(y, yv + e, area.top);
      if (!Number.isNaN(lo) && !Number.isNaN(hi)) {
        d += `M${cx} ${lo}V${hi}`;
        if (caps) d += `M${cx - 3} ${lo}h6M${cx - 3} ${hi}h6`;
      }
    }
    const f = ex?.[i];
    if (f !== undefined && f > 0 && Number.isFinite(f)) {
      const xv = trace.x[i] ?? 0;
      const lo = end(x, xv - f, area.left);
      const hi = end(x, xv + f, area.right);
      if (!Number.isNaN(lo) && !Number.isNaN(hi)) {
        d += `M${lo} ${cy}H${hi}`;
        if (caps) d += `M${lo} ${cy - 3}v6M${hi} ${cy - 3}v6`;
      }
    }
  }
  return d;
}

/** A heatmap's cells: runs of neighbouring cells of one colour level make one rectangle of that level's path. */
function HeatmapCells({ trace, x, y, z }: { trace: Trace; x: Scale; y: Scale; z: ZRange }) {
  const grid = trace.z ?? [];
  const cols = grid[0]?.length ?? 0;
  const xPx = cellEdges(trace.x, cols).map((v) => (x.valid(v) ? round1(x.toPx(v)) : Number.NaN));
  const yPx = cellEdges(trace.y, grid.length).map((v) => (y.valid(v) ? round1(y.toPx(v)) : Number.NaN));
  const span = z.max - z.min;
  const level = (v: number | undefined) =>
    v === undefined || !Number.isFinite(v)
      ? -1
      : span === 0
        ? LEVELS >> 1
        : Math.min(LEVELS - 1, Math.floor(((v - z.min) / span) * LEVELS));
  const paths: string[][] = Array.from({ length: LEVELS }, () => []);
  const placed = (c: number) => Number.isFinite(xPx[c]) && Number.isFinite(xPx[c + 1]);
  grid.forEach((row, r) => {
    const y0 = yPx[r] ?? Number.NaN;
    const y1 = yPx[r + 1] ?? Number.NaN;
    if (!Number.isFinite(y0) || !Number.isFinite(y1)) return;
    const top = Math.min(y0, y1);
    const h = round1(Math.abs(y1 - y0));
    for (let c = 0; c < cols; c++) {
      const l = level(row[c]);
      if (l < 0 || !placed(c)) continue;
      const start = c;
      while (c + 1 < cols && placed(c + 1) && level(row[c + 1]) === l) c++;
      const a = xPx[start] ?? 0;
      const b = xPx[c + 1] ?? 0;
      const w = round1(Math.abs(b - a));
      paths[l]?.push(`M${Math.min(a, b)} ${top}h${w}v${h}h${-w}z`);
    }
  });
  return (
    <g class="heatmap" data-cells={`${grid.length}x${cols}`} shape-rendering="crispEdges">
      {paths.map((p, i) => (p.length > 0 ? <path key={i} fill={LEVEL_COLOURS[i]} d={p.join("")} /> : null))}
    </g>
  );
}

function ColourBar({ z, left, top, bottom }: { z: ZRange; left: number; top: number; bottom: number }) {
  const step = (bottom - top) / LEVELS;
  const span = z.max - z.min;
  const toPx = (v: number) =>
    span === 0 ? (top + bottom) / 2 : bottom - ((v - z.min) / span) * (bottom - top);
  return (
    <g class="colorbar">
      <g shape-rendering="crispEdges">
        {LEVEL_COLOURS.map((colour, i) => (
          <rect
            key={i}
            x={left}
            y={round1(bottom - (i + 1) * step)}
            width={14}
            height={round1(step + 0.5)}
            fill={colour}
          />
        ))}
      </g>
      <rect x={left} y={top} width={14} height={bottom - top} fill="none" stroke="#9aa3ae" />
      <g fill="#333">
        {(span === 0 ? niceTicks(z.min, z.min, 1) : niceTicks(z.min, z.max, 5)).map((t) => (
          <text key={t.value} x={left + 20} y={round1(toPx(t.value)) + 4}>
            {t.label}
          </text>
        ))}
      </g>
    </g>
  );
}

/** The legend, inside the plot's top right: shown for several traces, or one named trace the upload asked for. */
function Legend({
  traces,
  showlegend,
  area,
}: {
  traces: Trace[];
  showlegend: boolean | undefined;
  area: Area;
}) {
  if (showlegend === false || traces.length === 0) return null;
  if (traces.length === 1 && !(showlegend === true && traces[0]?.name)) return null;
  const names = traces.map((t, i) => clip(t.name ?? `trace ${i + 1}`, 32));
  const room = Math.max(1, Math.floor((area.bottom - area.top - 12) / 16));
  const shown = names.length > room ? room - 1 : names.length;
  const lines = [
    ...names.slice(0, shown),
    ...(shown < names.length ? [`and ${names.length - shown} more`] : []),
  ];
  const w = Math.min(240, Math.max(...lines.map((n) => n.length)) * 6.6 + 36);
  const left = area.right - w - 6;
  return (
    <g class="legend">
      <rect
        x={round1(left)}
        y={area.top + 6}
        width={round1(w)}
        height={lines.length * 16 + 6}
        fill="#fff"
        fill-opacity="0.9"
        stroke="#d5d9de"
      />
      {lines.map((n, i) => {
        const ty = area.top + 20 + i * 16;
        const colour = i < shown ? (COLOURS[i % COLOURS.length] ?? "#000") : "none";
        return (
          <g key={i}>
            <path d={`M${round1(left + 8)} ${ty - 4}h16`} stroke={colour} stroke-width="2" />
            <text x={round1(left + 30)} y={ty} fill="#222">
              {n}
            </text>
          </g>
        );
      })}
    </g>
  );
}
