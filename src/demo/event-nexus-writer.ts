import { randomBytes } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Group } from "h5wasm/node";
import h5wasm from "h5wasm/node";

/** Parameters of one simulated instrument run. The same values always produce the same events. */
export interface DemoRun {
  /** Instrument name, e.g. "DEMO". */
  instrument: string;
  runNumber: number;
  /** Experiment (proposal) identifier, e.g. "IPTS-1234". */
  experiment: string;
  title: string;
  /** Number of detector banks (`entry/bank<k>_events`, k = 1..banks). */
  banks: number;
  eventsPerBank: number;
  /** Seed for the pseudo-random event generator. */
  seed: number;
  startTime: Date;
  durationSeconds: number;
}

/** Accelerator pulse rate (SNS runs at 60 Hz). */
const PULSE_HZ = 60;
/** Time-of-flight window of the simulated detector, in microseconds. */
const TOF_MIN_US = 1000;
const TOF_MAX_US = 16000;
const PIXELS_PER_BANK = 1024;

/** Event lists of one bank, in NXevent_data layout. */
interface BankEvents {
  eventId: Uint32Array;
  eventTimeOffset: Float32Array;
  eventTimeZero: Float64Array;
  eventIndex: BigUint64Array;
}

/**
 * Writes a NeXus event file for `run` at `path`: `/entry` (NXentry) with title, run_number (a string, as
 * SNS writes it), experiment_identifier, start/end time (ISO 8601), instrument/name, total_counts, and
 * `bank<k>_events` (NXevent_data) groups of simulated neutron events (two Bragg-like peaks on a flat
 * background, 1000-16000 µs, 60 Hz pulses). Parent folders are created; the file is written under a
 * temporary name in the same folder and renamed into place, so readers never see a partial file.
 */
export async function writeEventNexus(path: string, run: DemoRun): Promise<void> {
  validateRun(run);
  const target = resolve(path);
  const folder = dirname(target);
  await mkdir(folder, { recursive: true });
  const temporary = join(
    folder,
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.part`,
  );
  await h5wasm.ready;
  try {
    writeFileContents(temporary, run);
    await rename(temporary, target);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}

function validateRun(run: DemoRun): void {
  const counts = { banks: run.banks, eventsPerBank: run.eventsPerBank, runNumber: run.runNumber };
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  }
  if (!(run.durationSeconds > 0)) throw new RangeError("durationSeconds must be positive");
  if (Number.isNaN(run.startTime.getTime())) throw new RangeError("startTime is not a valid date");
}

function writeFileContents(path: string, run: DemoRun): void {
  const file = new h5wasm.File(path, "w");
  if (file.file_id < 0n) throw new Error(`cannot create HDF5 file ${path}`);
  try {
    const entry = file.create_group("entry");
    entry.create_attribute("NX_class", "NXentry");
    const endTime = new Date(run.startTime.getTime() + run.durationSeconds * 1000);
    writeString(entry, "title", run.title);
    writeString(entry, "run_number", String(run.runNumber));
    writeString(entry, "experiment_identifier", run.experiment);
    writeString(entry, "start_time", run.startTime.toISOString());
    writeString(entry, "end_time", endTime.toISOString());
    entry
      .create_dataset({ name: "duration", data: new Float32Array([run.durationSeconds]) })
      .create_attribute("units", "second");
    entry.create_dataset({
      name: "total_counts",
      data: new BigUint64Array([BigInt(run.banks * run.eventsPerBank)]),
    });

    const instrument = entry.create_group("instrument");
    instrument.create_attribute("NX_class", "NXinstrument");
    writeString(instrument, "name", run.instrument);

    for (let bank = 1; bank <= run.banks; bank++) {
      writeBank(entry, bank, generateBankEvents(run, bank), run.startTime);
    }
  } finally {
    file.close();
  }
}

/** Writes a 1-element fixed-length UTF-8 string dataset, the way SNS files store NeXus strings. */
function writeString(group: Group, name: string, value: string): void {
  const bytes = Math.max(1, Buffer.byteLength(value, "utf8"));
  group.create_dataset({ name, data: [value], shape: [1], dtype: `S${bytes}` });
}

function writeBank(entry: Group, bank: number, events: BankEvents, startTime: Date): void {
  const group = entry.create_group(`bank${bank}_events`);
  group.create_attribute("NX_class", "NXevent_data");
  group.create_dataset({ name: "event_id", data: events.eventId });
  group
    .create_dataset({ name: "event_time_offset", data: events.eventTimeOffset })
    .create_attribute("units", "microsecond");
  const timeZero = group.create_dataset({ name: "event_time_zero", data: events.eventTimeZero });
  timeZero.create_attribute("units", "second");
  timeZero.create_attribute("offset", startTime.toISOString());
  group.create_dataset({ name: "event_index", data: events.eventIndex });
}

/** Simulates one bank's events deterministically from the run's seed and the bank number. */
function generateBankEvents(run: DemoRun, bank: number): BankEvents {
  const random = seededRandom((run.seed ^ Math.imul(bank, 0x9e3779b9)) >>> 0);
  const pulses = Math.max(1, Math.round(run.durationSeconds * PULSE_HZ));
  const eventTimeZero = new Float64Array(pulses).map((_, i) => i / PULSE_HZ);

  // Spread events uniformly over the pulses; event_index[p] is where pulse p's events start.
  const perPulse = new Uint32Array(pulses);
  for (let i = 0; i < run.eventsPerBank; i++) {
    const pulse = Math.floor(random() * pulses);
    perPulse[pulse] = (perPulse[pulse] ?? 0) + 1;
  }
  const eventIndex = new BigUint64Array(pulses);
  let start = 0;
  perPulse.forEach((count, pulse) => {
    eventIndex[pulse] = BigInt(start);
    start += count;
  });

  // Each bank sits at a different scattering angle, so its peaks appear at different times of flight.
  const scale = 0.8 + 0.1 * ((bank - 1) % 6);
  const peaks = [
    { centre: 4200 * scale, width: 60 * scale, weight: 0.35 },
    { centre: 9100 * scale, width: 110 * scale, weight: 0.2 },
  ];
  const firstPixel = (bank - 1) * PIXELS_PER_BANK;
  const eventId = new Uint32Array(run.eventsPerBank);
  const eventTimeOffset = new Float32Array(run.eventsPerBank);
  for (let i = 0; i < run.eventsPerBank; i++) {
    eventId[i] = firstPixel + Math.floor(random() * PIXELS_PER_BANK);
    eventTimeOffset[i] = drawTimeOfFlight(random, peaks);
  }
  return { eventId, eventTimeOffset, eventTimeZero, eventIndex };
}

/** One time of flight (µs): from a Gaussian peak with probability `weight`, else flat background. */
function drawTimeOfFlight(random: () => number, peaks: { centre: number; width: number; weight: number }[]) {
  let pick = random();
  for (const peak of peaks) {
    if (pick < peak.weight) {
      const tof = peak.centre + peak.width * gaussian(random);
      if (tof >= TOF_MIN_US && tof < TOF_MAX_US) return tof;
      break;
    }
    pick -= peak.weight;
  }
  return TOF_MIN_US + random() * (TOF_MAX_US - TOF_MIN_US);
}

/** Standard normal deviate (Box-Muller). */
function gaussian(random: () => number): number {
  const u = 1 - random(); // in (0, 1], so the log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** mulberry32: a small, fast 32-bit seeded PRNG returning floats in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
