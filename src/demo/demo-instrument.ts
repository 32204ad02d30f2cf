import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { DemoRun } from "./event-nexus-writer.ts";
import { writeEventNexus } from "./event-nexus-writer.ts";

/** Options of {@link startDemoInstrument}. */
export interface DemoInstrumentOptions {
  /** Root of the data archive, e.g. "/SNS" or a scratch folder. */
  archiveRoot: string;
  /** Instrument name used in folder and file names as given, e.g. "DEMO". */
  instrument: string;
  /** Experiment (proposal) folder, e.g. "IPTS-1234". */
  experiment: string;
  /** Time between the starts of consecutive runs, in milliseconds. */
  intervalMs: number;
  /** Run number to use when the folder holds no runs yet. */
  firstRun: number;
  eventsPerBank?: number;
  banks?: number;
  /** Called after each run file is complete under its final name. */
  onRun?: (info: { runNumber: number; path: string }) => void;
  /** Called when writing a run fails; the instrument carries on with the next run. Defaults to console.error. */
  onError?: (e: Error) => void;
}

/** A running demo instrument. */
export interface DemoInstrument {
  /** Stops producing runs; resolves once any run being written is complete. Safe to call repeatedly. */
  stop(): Promise<void>;
}

const SAMPLES = ["Si powder standard", "Vanadium rod", "Empty can", "LaB6 calibrant", "Ni sphere"];
const TEMPERATURES_K = [300, 100, 10];

/**
 * Starts a simulated instrument that writes one NeXus event file straight away and then one every
 * `intervalMs`, in the SNS layout `<archiveRoot>/<INST>/<experiment>/nexus/<INST>_<run>.nxs.h5`.
 * Numbering continues after the highest run already in that folder (or starts at `firstRun`).
 * Writes never overlap: a slow write delays the next run.
 */
export function startDemoInstrument(opts: DemoInstrumentOptions): DemoInstrument {
  const folder = join(opts.archiveRoot, opts.instrument, opts.experiment, "nexus");
  const onError = opts.onError ?? ((e: Error) => console.error(`demo instrument: ${e.message}`));
  let nextRun = opts.firstRun;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();

  const tick = async (): Promise<void> => {
    const started = Date.now();
    try {
      nextRun = Math.max(nextRun, (await highestRunNumber(folder, opts.instrument)) + 1);
      const runNumber = nextRun;
      const path = join(folder, `${opts.instrument}_${runNumber}.nxs.h5`);
      await writeEventNexus(path, demoRun(opts, runNumber));
      nextRun = runNumber + 1;
      opts.onRun?.({ runNumber, path });
    } catch (e) {
      onError(e instanceof Error ? e : new Error(String(e)));
    }
    if (!stopped) schedule(Math.max(0, opts.intervalMs - (Date.now() - started)));
  };

  const schedule = (delayMs: number): void => {
    timer = setTimeout(() => {
      timer = undefined;
      writing = tick();
    }, delayMs);
  };

  schedule(0);
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await writing;
    },
  };
}

/** Highest run number among `<INST>_<run>.nxs.h5` files in `folder`, or -Infinity if there are none. */
async function highestRunNumber(folder: string, instrument: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return Number.NEGATIVE_INFINITY;
    throw e;
  }
  const prefix = `${instrument}_`;
  let highest = Number.NEGATIVE_INFINITY;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".nxs.h5")) continue;
    const digits = name.slice(prefix.length, -".nxs.h5".length);
    if (/^\d+$/.test(digits)) highest = Math.max(highest, Number(digits));
  }
  return highest;
}

/** Run parameters for `runNumber`: titles cycle through a few samples and temperatures. */
function demoRun(opts: DemoInstrumentOptions, runNumber: number): DemoRun {
  const sample = SAMPLES[runNumber % SAMPLES.length] ?? "sample";
  const temperature = TEMPERATURES_K[Math.floor(runNumber / SAMPLES.length) % TEMPERATURES_K.length] ?? 300;
  const durationSeconds = 30 + (runNumber % 4) * 30;
  return {
    instrument: opts.instrument,
    runNumber,
    experiment: opts.experiment,
    title: `${sample} at ${temperature} K`,
    banks: opts.banks ?? 3,
    eventsPerBank: opts.eventsPerBank ?? 50_000,
    seed: runNumber,
    startTime: new Date(Date.now() - durationSeconds * 1000),
    durationSeconds,
  };
}
