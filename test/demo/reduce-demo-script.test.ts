import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import h5wasm from "h5wasm/node";
import { writeEventNexus } from "../../src/demo/event-nexus-writer.ts";

const SCRIPT_SOURCE = fileURLToPath(new URL("../../examples/demo/reduce_DEMO.mjs", import.meta.url));

let dir = "";
let script = "";
let dataFile = "";
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "autoreduce-reduce-"));
  // As the demo setup does: point the placeholder at h5wasm, then run the copy from a scratch folder.
  const source = fs.readFileSync(SCRIPT_SOURCE, "utf8");
  assert.ok(source.includes('"__H5WASM_NODE__"'));
  script = path.join(dir, "scripts", "reduce_DEMO.mjs");
  fs.mkdirSync(path.dirname(script));
  fs.writeFileSync(script, source.replaceAll("__H5WASM_NODE__", import.meta.resolve("h5wasm/node")));

  dataFile = path.join(dir, "archive", "DEMO_77.nxs.h5");
  await writeEventNexus(dataFile, {
    instrument: "DEMO",
    runNumber: 77,
    experiment: "IPTS-1234",
    title: "LaB6 calibrant at 300 K",
    banks: 3,
    eventsPerBank: 4000,
    seed: 77,
    startTime: new Date("2024-05-01T10:00:00.000Z"),
    durationSeconds: 30,
  });
  await h5wasm.ready;
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

type Result = { code: number; stdout: string; stderr: string };

/** Runs the installed script with Node from the scratch folder. */
function runScript(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd: path.dirname(script) }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Number of events per bank with a time of flight inside the script's 1000-16000 µs window. */
function eventsInRange(file: string): Map<string, number> {
  const h5 = new h5wasm.File(file, "r");
  try {
    const counts = new Map<string, number>();
    for (const bank of [1, 2, 3]) {
      const tof = h5.get(`entry/bank${bank}_events/event_time_offset`);
      assert.ok(tof instanceof h5wasm.Dataset);
      const values = tof.value;
      assert.ok(values instanceof Float32Array);
      counts.set(`bank${bank}`, values.filter((t) => t >= 1000 && t <= 16000).length);
    }
    return counts;
  } finally {
    h5.close();
  }
}

test("reduces an event file into a table and an I(Q) plot file", async () => {
  const outputDir = path.join(dir, "shared", "autoreduce") + path.sep; // SNS passes a trailing slash
  const result = await runScript([dataFile, outputDir]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /loaded 3 banks, 12000 events/);
  assert.match(result.stdout, /wrote .*DEMO_77_reduced\.dat/);

  // The plot file (published on the run's page): I(Q) of all banks focused, with √N error bars.
  const plot = JSON.parse(fs.readFileSync(path.join(outputDir, "DEMO_77.plot.json"), "utf8"));
  assert.equal(plot.name, "I(Q)");
  assert.equal(plot.x_title, "Q (Å⁻¹)");
  assert.match(plot.title, /77.*LaB6 calibrant at 300 K/);
  assert.equal(plot.series.length, 1);
  const [iq] = plot.series as { x: number[]; y: number[]; e: number[] }[];
  assert.ok(iq);
  assert.equal(iq.x.length, iq.y.length);
  assert.deepEqual(
    iq.e,
    iq.y.map((n) => Math.sqrt(n)),
  );
  assert.ok(
    iq.x.every((q, i) => i === 0 || q > (iq.x[i - 1] ?? 0)),
    "Q increases",
  );
  const expected = eventsInRange(dataFile);
  const inRange = [...expected.values()].reduce((a, b) => a + b, 0);
  const focused = iq.y.reduce((a, b) => a + b, 0);
  assert.ok(focused > 0.5 * inRange && focused <= inRange, `${focused} of ${inRange} events in the Q range`);
  // The strongest Bragg peak of the simulated sample sits at d = 2.1 Å, Q = 2π/2.1 ≈ 2.99 Å⁻¹.
  const peak = iq.x[iq.y.indexOf(Math.max(...iq.y))] ?? 0;
  assert.ok(Math.abs(peak - (2 * Math.PI) / 2.1) < 0.05, `peak at Q = ${peak}`);

  const table = fs.readFileSync(path.join(outputDir, "DEMO_77_reduced.dat"), "utf8").trim().split("\n");
  assert.ok(table.some((line) => line.startsWith("#") && line.includes("77") && line.includes("LaB6")));
  assert.ok(table.some((line) => line.startsWith("#") && /bank1 bank2 bank3/.test(line)));
  const rows = table.filter((line) => !line.startsWith("#")).map((line) => line.split(/\s+/).map(Number));
  assert.equal(rows.length, 200, "one row per time-of-flight bin");
  for (const [column, bank] of ["bank1", "bank2", "bank3"].entries()) {
    const total = rows.reduce((sum, row) => sum + (row[column + 1] ?? Number.NaN), 0);
    assert.equal(total, expected.get(bank), bank);
  }
});

test("wrong arguments exit non-zero with a usage message", async () => {
  const result = await runScript([dataFile]);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /usage: node reduce_DEMO\.mjs <data_file> <output_dir>/);
});

test("an unreadable data file exits non-zero with a clear message", async () => {
  const missing = await runScript([path.join(dir, "nope.nxs.h5"), path.join(dir, "out")]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /data file not found/);

  const text = path.join(dir, "text.nxs.h5");
  fs.writeFileSync(text, "not hdf5");
  const notHdf5 = await runScript([text, path.join(dir, "out")]);
  assert.notEqual(notHdf5.code, 0);
  assert.match(notHdf5.stderr, /not an HDF5\/NeXus file/);
  assert.equal(fs.existsSync(path.join(dir, "out")), false, "nothing written on failure");
});
