import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { h } from "preact";
import { render } from "preact-render-to-string";
import { namesAnotherRun } from "../../src/web/plots/plot-files.ts";
import { parsePlotBody, parsePlotText } from "../../src/web/plots/plot-input.ts";
import { plotAsText } from "../../src/web/plots/plot-text.ts";
import { extractPlotlyDiv, PlotParseError } from "../../src/web/plots/plotly-div.ts";
import { drawingCopy, type Figure } from "../../src/web/views/figure.ts";
import { FigureSvg } from "../../src/web/views/figure-svg.tsx";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/plots/${name}`, import.meta.url), "utf8");

/** A div in plotly.py's shape around the given data and layout JSON texts. */
const div = (data: string, layout = "{}") =>
  `<div><div id="a1" class="plotly-graph-div"></div><script type="text/javascript">window.PLOTLYENV=window.PLOTLYENV || {};` +
  `if (document.getElementById("a1")) { Plotly.newPlot("a1", ${data}, ${layout}, {"responsive": true}) };</script></div>`;

const refused = (text: string, reason: RegExp) =>
  assert.throws(
    () => parsePlotText(text),
    (e: unknown) => e instanceof PlotParseError && reason.test(e.message),
    `expected a refusal matching ${reason}`,
  );

const sameNumbers = (actual: number[] | undefined, expected: number[]) => {
  assert.ok(actual, "values present");
  assert.equal(actual.length, expected.length);
  expected.forEach((v, i) => {
    if (Number.isNaN(v)) assert.ok(Number.isNaN(actual[i]), `[${i}] is a gap`);
    else assert.equal(actual[i], v);
  });
};

describe("reading a Plotly <div> without running it", () => {
  test("plotly.py 5 plot1d output (SNS plot_publisher): traces, error bars, log axes, titles", () => {
    const { figure, source } = parsePlotText(fixture("plot1d-plotly5.html"));
    assert.equal(source, "plotly-div");
    assert.equal(figure.data.length, 2);
    const [r, fit] = figure.data;
    assert.equal(r?.type, "scatter");
    assert.equal(r?.name, "R(Q) reflectivity", "plotly's <b> formatting is taken out, the text kept");
    sameNumbers(r?.x, [0.008, 0.01, 0.02, 0.05, 0.1]);
    sameNumbers(r?.y, [1.0, 0.8, 0.05, 0.004, Number.NaN]);
    sameNumbers(r?.error_y, [0.1, 0.05, 0.01, 0.002, 0.0004]);
    sameNumbers(r?.error_x, [0.0001, 0.0002, 0.0003, 0.0004, 0.0005]);
    assert.equal(r?.show_error_x, false, "show_dx=False (thickness 0): in the data, not drawn");
    assert.equal(fit?.mode, "lines");
    assert.equal(fit?.error_y, undefined, "an empty error_y {} shows no error bars");
    assert.deepEqual(figure.layout, {
      title: "REF_L run 201234",
      xaxis: { title: "Q (1/A)", type: "log" },
      yaxis: { title: "Reflectivity", type: "log" },
      showlegend: true,
    });
    assert.equal(figure.notes, undefined, "nothing was left out");
  });

  test("plotly.py 6 typed arrays ({dtype, bdata, shape}) are decoded: f8, f4, u1, and a 2-D i2 heatmap", () => {
    const { figure } = parsePlotText(fixture("plotly6-bdata.html"));
    const [curve, map] = figure.data;
    sameNumbers(curve?.x, [0.01, 0.02, 0.05, 0.1]);
    sameNumbers(curve?.y, [1, 0.5, Number.NaN, 0.001]);
    sameNumbers(curve?.error_y, [0.25, 0.125, 0.5, 0.0625]);
    assert.equal(curve?.mode, "lines+markers");
    assert.equal(map?.type, "heatmap");
    sameNumbers(map?.x, [10, 20, 30, 40]);
    sameNumbers(map?.y, [1, 2, 3]);
    assert.deepEqual(map?.z, [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11, -12],
    ]);
    assert.equal(figure.layout.title, "typed arrays");
  });

  test("script-breaking strings and a second 'Plotly.newPlot(' inside the data are only data", () => {
    const evil = "</script><script>alert(1)</script>";
    const data = JSON.stringify([
      { x: [1, 2], y: [3, 4], name: evil, text: "Plotly.newPlot('x', [], {})" },
      { x: [1], y: [1], name: 'a quote " a bracket ] a backslash \\ and NaN' },
    ]);
    const { figure } = parsePlotText(div(data, JSON.stringify({ title: { text: evil } })));
    assert.equal(figure.data[0]?.name, evil);
    assert.equal(
      figure.data[1]?.name,
      'a quote " a bracket ] a backslash \\ and NaN',
      "escapes inside strings",
    );
    assert.equal(figure.layout.title, evil);
    const svg = render(h(FigureSvg, { figure, label: evil }));
    assert.doesNotMatch(svg, /<script/i, "no script element in the drawing");
    assert.match(svg, /&lt;\/script>&lt;script>alert\(1\)&lt;\/script>/);
  });

  test("the one-object form newPlot(id, {data, layout}) is read too", () => {
    const html = `<script>Plotly.newPlot("p", {"data": [{"y": [1, 2, 3]}], "layout": {"title": "one"}})</script>`;
    const { data, layout } = extractPlotlyDiv(html);
    assert.deepEqual(data, [{ y: [1, 2, 3] }]);
    assert.deepEqual(layout, { title: "one" });
    const { figure } = parsePlotText(html);
    sameNumbers(figure.data[0]?.x, [0, 1, 2]);
  });

  test("Python's bare NaN and Infinity are gaps", () => {
    const { figure } = parsePlotText(div('[{"x": [1, 2, 3, 4], "y": [1, NaN, Infinity, -Infinity]}]'));
    sameNumbers(figure.data[0]?.y, [1, Number.NaN, Number.NaN, Number.NaN]);
    const json = parsePlotText('{"series": [{"x": [1, 2], "y": [NaN, 2], "e": [0.1, NaN]}]}');
    sameNumbers(json.figure.data[0]?.y, [Number.NaN, 2]);
  });

  test("what we do not draw is left out with a note; nothing drawable is refused", () => {
    const { figure } = parsePlotText(
      div(
        '[{"type": "pie", "values": [1, 2]}, {"y": [1, 2]}, {"y": ["a", "b"]}]',
        '{"xaxis": {"type": "date"}}',
      ),
    );
    assert.equal(figure.data.length, 1);
    assert.deepEqual(figure.notes, [
      'trace 1: "pie" traces are not drawn (only scatter, bar and heatmap)',
      "trace 3 left out: trace 3 y holds text values, not numbers",
      'the x axis type "date" is drawn as a linear axis',
    ]);
    refused(div('[{"type": "pie", "values": [1, 2]}]'), /^no trace we can draw: trace 1: "pie" traces/);
    refused(div("[]"), /no trace we can draw: the plot has no traces/);
  });

  test("malformed uploads are refused with the reason", () => {
    refused("<div>no plot here</div>", /no Plotly\.newPlot\( call found/);
    refused('<script>Plotly.newPlot("a1", [{"x": [1, 2], "y": [3', /cut off/);
    refused(div("traces"), /data is not a JSON list/);
    refused(div('[{"x": [1, 2}]'), /brackets that do not match/);
    refused(div("[{'x': [1]}]"), /plot's data is not valid JSON/);
    refused(div('{"notdata": 1}'), /data is not a list of traces/);
    refused(div('[{"y": {"dtype": "f8", "bdata": "not base64!"}}]'), /bdata is not base64/);
    refused(div('[{"y": {"dtype": "c16", "bdata": "AAAA"}}]'), /typed array of type "c16"/);
    refused(
      div('[{"z": {"dtype": "u1", "bdata": "AAAA", "shape": "2, 2"}, "type": "heatmap"}]'),
      /has 3 values, not the 2 × 2/,
    );
    refused("{not json", /upload is cut off/);
    refused('{"a": nope}', /upload is not valid JSON/);
    refused("", /empty/);
    refused('{"hello": 1}', /neither `data`.*nor `series`/);
  });

  test("limits: traces, points per trace, heatmap size", () => {
    const many = JSON.stringify(Array.from({ length: 21 }, () => ({ y: [1] })));
    refused(div(many), /21 traces; at most 20/);
    const long = Buffer.alloc(8 * 200_001).toString("base64");
    refused(div(`[{"y": {"dtype": "f8", "bdata": "${long}"}}]`), /more than 200,000 values/);
    const wide = JSON.stringify([{ type: "heatmap", z: [Array.from({ length: 1001 }, () => 1)] }]);
    refused(div(wide), /1 × 1001; heatmaps of at most 1000 × 1000/);
  });

  test("series: checked strictly, one value per point", () => {
    const ok = parsePlotBody({
      name: "I(Q)",
      version: 2,
      title: "t",
      x_title: "Q",
      y_log: true,
      series: [{ x: [1, 2], y: [3, 4], e: [0.1, 0.2], name: "bank 1" }],
    });
    assert.equal(ok.source, "series");
    assert.equal(ok.name, "I(Q)");
    assert.equal(ok.version, 2);
    assert.deepEqual(ok.figure.layout, { title: "t", xaxis: { title: "Q" }, yaxis: { type: "log" } });
    assert.throws(
      () => parsePlotBody({ series: [{ x: [1, 2], y: [3] }] }),
      /series 1: y has 1 values and x 2/,
    );
    assert.throws(() => parsePlotBody({ series: [{ x: [1], y: [1] }], x_label: "Q" }), /x_label/);
    assert.throws(() => parsePlotBody({ series: [] }), /at least one series/);
    assert.throws(() => parsePlotBody({ version: -1, series: [{ x: [1], y: [1] }] }), /bad name or version/);
  });
});

describe("drawing figures as SVG", () => {
  const draw = (figure: Figure) => render(h(FigureSvg, { figure, label: "test plot" }));
  const texts = (svg: string, group: string) =>
    [
      ...(new RegExp(`<g class="${group}"[^>]*>(.*?)</g>`).exec(svg)?.[1] ?? "").matchAll(
        /<text[^>]*>([^<]*)<\/text>/g,
      ),
    ].map((m) => m[1]);

  test("log axes get decade ticks (10⁻⁴ … 100), minor ticks between, error bars clipped at the axis", () => {
    const svg = draw({
      data: [
        {
          type: "scatter",
          x: [0.0001, 0.01, 0.1, 1, 10, 100],
          y: [5, 3, 1, 0.5, 0.2, 0.1],
          error_y: [1, 1, 0.1, 0.6, 0.1, 0.01],
        },
      ],
      layout: { xaxis: { type: "log", title: "Q" }, yaxis: { type: "log" } },
    });
    assert.match(svg, /<g class="x-axis"[^>]*data-scale="log"/);
    assert.deepEqual(texts(svg, "x-axis"), ["10⁻⁴", "0.001", "0.01", "0.1", "1", "10", "100"]);
    assert.ok(texts(svg, "y-axis").includes("1"), "y ticks at decades");
    assert.match(svg, /class="error-bars"/);
    assert.match(svg, /<g class="grid"[^>]*><path stroke="#f3f4f6" d="M/, "minor grid lines between decades");
    assert.match(svg, /data-figure="drawn"/);
  });

  test("an axis of whole numbers (run numbers) never gets fractional ticks", () => {
    const svg = draw({
      data: [{ type: "scatter", mode: "markers", x: [1, 2], y: [0.15, 0.33] }],
      layout: {},
    });
    assert.deepEqual(texts(svg, "x-axis"), ["1", "2"]);
    assert.ok(
      texts(svg, "y-axis").some((t) => t?.includes(".")),
      "fractional values keep fractional ticks",
    );
  });

  test("a log axis over less than two decades labels 1, 2 and 5 of each", () => {
    const svg = draw({
      data: [{ type: "scatter", x: [1, 2, 3, 40], y: [1, 2, 3, 4] }],
      layout: { xaxis: { type: "log" } },
    });
    assert.deepEqual(texts(svg, "x-axis"), ["1", "2", "5", "10", "20"]);
  });

  test("gaps (NaN, Infinity, ≤ 0 on a log axis) break the line; markers only where there is a point", () => {
    const svg = draw({
      data: [
        { type: "scatter", mode: "lines+markers", x: [1, 2, 3, 4, 5, 6], y: [1, 2, Number.NaN, 4, -1, 6] },
      ],
      layout: { yaxis: { type: "log" } },
    });
    const line = /<path fill="none" stroke="#0072B2"[^>]* d="([^"]*)"/.exec(svg)?.[1] ?? "";
    assert.equal(line.match(/M/g)?.length, 3, `three pieces: ${line}`);
    assert.equal(svg.match(/<circle/g)?.length, 4);
  });

  test("a heatmap of 1000 × 1000 is drawn as at most 200 × 200 cells in viridis, with a colour bar", () => {
    const z = Array.from({ length: 1000 }, (_, r) => Array.from({ length: 1000 }, (_, c) => r + c));
    const svg = draw({ data: [{ type: "heatmap", x: [], y: [], z }], layout: {} });
    assert.match(svg, /<g class="heatmap" data-cells="200x200"/);
    assert.match(svg, /<path fill="#440457" d="M/, "the lowest values in viridis' first colour");
    assert.match(svg, /fill="#f[0-9a-f]e[0-9a-f]{3}"/, "the highest in its yellow");
    const bar = /<g class="colorbar">(.*?)<\/g><rect/.exec(svg)?.[1] ?? "";
    assert.equal(bar.match(/<rect/g)?.length, 64, "the colour bar has every level");
    assert.match(svg, /<g class="colorbar">.*<text[^>]*>1000<\/text>/);
  });

  test("a heatmap's cells sit at their edges; missing cells are not drawn", () => {
    const svg = draw({
      data: [
        {
          type: "heatmap",
          x: [0, 1, 2],
          y: [0, 1],
          z: [
            [1, Number.NaN, 3],
            [4, 5, 6],
          ],
        },
      ],
      layout: {},
    });
    assert.match(svg, /data-cells="2x3"/);
    const cells = [...svg.matchAll(/<g class="heatmap"[^>]*>(.*?)<\/g>/g)].map((m) => m[1] ?? "").join("");
    assert.equal(cells.match(/z/g)?.length, 5, "five cells of six (one is a gap), each of its own colour");
  });

  test("several traces get a legend with their names (escaped); bars start at zero", () => {
    const svg = draw({
      data: [
        { type: "bar", x: [1, 2, 3], y: [2, 5, 1], name: "<b>counts</b>" },
        { type: "scatter", x: [1, 2, 3], y: [1, 2, 3], name: "model" },
      ],
      layout: {},
    });
    const legend = svg.slice(svg.indexOf('<g class="legend">'));
    assert.deepEqual(
      [...legend.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]),
      ["&lt;b>counts&lt;/b>", "model"],
    );
    assert.equal(svg.match(/<rect x="[^"]*" y="[^"]*" width="[^"]*" height="[^"]*"><\/rect>/g)?.length, 3);
    assert.ok(texts(svg, "y-axis").includes("0"));
  });

  test("no drawable point: a clear 'nothing to draw'", () => {
    for (const figure of [
      { data: [], layout: { title: "empty" } },
      { data: [{ type: "scatter" as const, x: [1, 2], y: [Number.NaN, Number.NaN] }], layout: {} },
      {
        data: [{ type: "scatter" as const, x: [1, 2], y: [-1, 0] }],
        layout: { yaxis: { type: "log" as const } },
      },
    ]) {
      const svg = draw(figure);
      assert.match(svg, /data-figure="empty"/);
      assert.match(svg, /Nothing to draw: this plot has no data points that can be shown/);
    }
  });

  test("long traces are strided to at most 5,000 drawn points, keeping the last", () => {
    const n = 200_000;
    const x = Array.from({ length: n }, (_, i) => i);
    const copy = drawingCopy({ data: [{ type: "scatter", x, y: x, error_y: x }], layout: {} });
    const t = copy.data[0];
    assert.ok(t && t.x.length <= 5000 && t.x.length > 4000, `${t?.x.length} points`);
    assert.equal(t?.x.at(-1), n - 1);
    assert.equal(t?.error_y?.length, t?.x.length);
  });
});

test("the data as text: WebMon's columns, every point, one block per trace", () => {
  const text = plotAsText({
    instrument: "REF_L",
    run: 201234,
    name: "reduction",
    version: 1,
    figure: {
      data: [
        {
          type: "scatter",
          name: "R",
          x: [0.01, 0.02],
          y: [1, Number.NaN],
          error_y: [0.1, 0.2],
          error_x: [0.001, 0.002],
        },
        { type: "scatter", x: [1], y: [2] },
        { type: "heatmap", x: [0, 1], y: [5], z: [[7, 8]] },
      ],
      layout: { title: "R(Q)", xaxis: { title: "Q" } },
    },
  });
  assert.equal(
    text,
    [
      "# REF_L Run 201234",
      "# reduction (version 1)",
      "# title: R(Q)",
      "# X: Q",
      "",
      "# R",
      "# X Y dY dX",
      "0.01 1 0.1 0.001",
      "0.02 nan 0.2 0.002",
      "",
      "# trace 2",
      "# X Y",
      "1 2",
      "",
      "# trace 3",
      "# X Y Z",
      "0 5 7",
      "1 5 8",
      "",
    ].join("\n"),
  );
});

test("a plot file named for another run is that run's (shared SNS output folders)", () => {
  assert.equal(namesAnotherRun("NOM_12346.plot.json", "NOM", 12345), true);
  assert.equal(namesAnotherRun("NOM_123456.plot.json", "NOM", 12345), true);
  assert.equal(namesAnotherRun("nom_12345_iq.plot.json", "NOM", 12345), false);
  assert.equal(namesAnotherRun("MARI00012345.plot.json", "MARI", 12345), false);
  assert.equal(namesAnotherRun("reduction.plot.json", "NOM", 12345), false);
});
