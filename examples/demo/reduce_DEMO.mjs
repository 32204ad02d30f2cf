// Reduction script for the DEMO instrument.
//
//   node reduce_DEMO.mjs <data_file> <output_dir>
//
// Reads a NeXus event file, histograms the time-of-flight of the events in every detector bank
// and writes two files into <output_dir>:
//   <INST>_<run>_reduced.dat  a text table: tof_us, then the counts of each bank
//   <INST>_<run>.plot.json    I(Q): every bank's events focused onto one Q axis, with error bars.
//                             A file named *.plot.json is published as the run's plot on its web
//                             page (docs/scripts.md, "Publishing plots").
//
// "__H5WASM_NODE__" is replaced with the location of the h5wasm library when the script is installed.

import h5wasm from "__H5WASM_NODE__";
import fs from "node:fs";
import path from "node:path";

const TOF_MIN_US = 1000;
const TOF_MAX_US = 16000;
const BIN_COUNT = 200;

// I(Q): Q = 2π / d with d = tof / DIFC, DIFC being each bank's calibration constant (µs per Å,
// as a diffractometer's calibration table gives it). Q bins are logarithmic (constant ΔQ/Q, as
// time-of-flight resolution is).
const Q_MIN = 0.5;
const Q_MAX = 8;
const Q_BINS = 400;
const difc = (bankNumber) => 2000 * (0.8 + 0.1 * ((bankNumber - 1) % 6));

function fail(message, exitCode = 1) {
  console.error(`reduce_DEMO: ${message}`);
  process.exit(exitCode);
}

// An HDF5 file starts with these 8 bytes; checking them first gives a clear error for other files.
function looksLikeHdf5(file) {
  const signature = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
  const start = Buffer.alloc(8);
  const fd = fs.openSync(file, "r");
  try {
    fs.readSync(fd, start, 0, 8, 0);
  } finally {
    fs.closeSync(fd);
  }
  return start.equals(signature);
}

// Reads a string or number dataset (NeXus stores them as scalars or 1-element arrays).
function readScalar(group, name) {
  const dataset = group.get(name);
  if (!(dataset instanceof h5wasm.Dataset)) return undefined;
  const value = dataset.value;
  const first = typeof value === "string" ? value : value?.[0];
  return typeof first === "bigint" ? Number(first) : first;
}

// Loads the run information and the time-of-flight of every event, bank by bank.
function loadRun(file) {
  const hdf = new h5wasm.File(file, "r");
  if (hdf.file_id < 0n) fail(`cannot open ${file} with the HDF5 library`);
  try {
    const entry = hdf.get("entry");
    if (!(entry instanceof h5wasm.Group)) fail(`${file} has no /entry group`);
    const banks = entry
      .keys()
      .filter((name) => /^bank\d+_events$/.test(name))
      .sort((a, b) => Number(a.match(/\d+/)[0]) - Number(b.match(/\d+/)[0]))
      .map((name) => ({
        name: name.replace(/_events$/, ""),
        tof: entry.get(`${name}/event_time_offset`).value,
      }));
    return {
      instrument: readScalar(entry, "instrument/name") ?? "unknown",
      runNumber: readScalar(entry, "run_number") ?? "unknown",
      title: readScalar(entry, "title") ?? "",
      banks,
    };
  } finally {
    hdf.close();
  }
}

// Counts events into BIN_COUNT equal-width bins between TOF_MIN_US and TOF_MAX_US.
// Events outside that range are not counted; an event exactly at TOF_MAX_US goes in the last bin.
function histogram(tof) {
  const width = (TOF_MAX_US - TOF_MIN_US) / BIN_COUNT;
  const counts = new Array(BIN_COUNT).fill(0);
  for (const t of tof) {
    if (t < TOF_MIN_US || t > TOF_MAX_US) continue;
    counts[Math.min(BIN_COUNT - 1, Math.floor((t - TOF_MIN_US) / width))] += 1;
  }
  const centres = counts.map((_, i) => TOF_MIN_US + (i + 0.5) * width);
  return { centres, counts };
}

function writeTable(file, run, centres, histograms) {
  const names = run.banks.map((bank) => bank.name);
  const lines = [
    `# ${run.instrument} run ${run.runNumber}: ${run.title}`,
    `# banks: ${names.join(" ")}`,
    `# tof_us ${names.join(" ")}`,
    ...centres.map((x, i) => [x.toFixed(2), ...histograms.map((h) => h.counts[i])].join(" ")),
  ];
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
}

// Focuses every bank's events onto one Q axis: counts per Q bin, with √N error bars.
function intensityVsQ(banks) {
  const step = Math.log(Q_MAX / Q_MIN) / Q_BINS;
  const counts = new Array(Q_BINS).fill(0);
  for (const bank of banks) {
    const constant = difc(Number(bank.name.match(/\d+/)[0]));
    for (const t of bank.tof) {
      if (t < TOF_MIN_US || t > TOF_MAX_US) continue;
      const q = (2 * Math.PI * constant) / t;
      const bin = Math.floor(Math.log(q / Q_MIN) / step);
      if (bin >= 0 && bin < Q_BINS) counts[bin] += 1;
    }
  }
  const q = counts.map((_, i) => Q_MIN * Math.exp((i + 0.5) * step));
  return { q, counts, errors: counts.map((n) => Math.sqrt(n)) };
}

// Our plot format ("series"): the web page draws it, with error bars.
function writePlot(file, run, iq) {
  const plot = {
    name: "I(Q)",
    title: `${run.instrument} run ${run.runNumber}: ${run.title}`,
    x_title: "Q (Å⁻¹)",
    y_title: "I(Q) (counts)",
    series: [{ name: `${run.banks.length} banks, focused`, x: iq.q, y: iq.counts, e: iq.errors }],
  };
  fs.writeFileSync(file, JSON.stringify(plot));
}

async function main(args) {
  if (args.length !== 2) fail("usage: node reduce_DEMO.mjs <data_file> <output_dir>", 2);
  const [dataFile, outputDir] = args;
  if (!fs.existsSync(dataFile)) fail(`data file not found: ${dataFile}`);
  if (!looksLikeHdf5(dataFile)) fail(`not an HDF5/NeXus file: ${dataFile}`);

  await h5wasm.ready;
  const run = loadRun(dataFile);
  const events = run.banks.reduce((sum, bank) => sum + bank.tof.length, 0);
  console.log(`loaded ${run.banks.length} banks, ${events} events from ${dataFile}`);

  const histograms = run.banks.map((bank) => histogram(bank.tof));
  const centres = histograms[0]?.centres ?? histogram([]).centres;
  const inRange = histograms.reduce((sum, h) => sum + h.counts.reduce((a, b) => a + b, 0), 0);
  console.log(`histogrammed ${inRange} events in ${BIN_COUNT} bins, ${TOF_MIN_US}-${TOF_MAX_US} µs`);

  fs.mkdirSync(outputDir, { recursive: true });
  const stem = path.basename(dataFile).replace(/(\.nxs\.h5|\.h5|\.nxs)$/, "");
  const tableFile = path.join(outputDir, `${stem}_reduced.dat`);
  const plotFile = path.join(outputDir, `${stem}.plot.json`);
  writeTable(tableFile, run, centres, histograms);
  console.log(`wrote ${tableFile}`);
  writePlot(plotFile, run, intensityVsQ(run.banks));
  console.log(`wrote ${plotFile}`);
}

main(process.argv.slice(2)).catch((e) => fail(`reduction failed: ${e.message}`));
