import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Group } from "h5wasm/node";
import h5wasm from "h5wasm/node";

/**
 * What an ISIS NeXus file says about its run. The names and values of the test files are those
 * of real ISIS files (fiaisis/run-detection's e2e data and the expected values of its tests);
 * the files themselves are written here, small, with the same structure.
 */
export interface IsisRun {
  /** `raw_data_1/beamline` and `instrument/name`: MARI, OSIRIS, ... */
  instrument: string;
  runNumber: number;
  /** `experiment_identifier`: the RB number, as text. */
  experiment: string;
  title: string;
  startTime: string;
  endTime: string;
  rawFrames: number;
  goodFrames: number;
  users: string;
  /** `definition`: `TOFRAW` for neutron instruments, `muonTD` for muon ones (NeXus v2 files). */
  definition?: string;
  /** Width of the fixed-length strings: ISIS pads text with spaces to the field's width. */
  padTo?: number;
}

/**
 * Writes the ISIS raw-data NeXus layout: one NXentry named `raw_data_1` (not `entry`), every
 * value a 1-element array (strings fixed-length), `run_number` int32, a `user_1` NXuser, an
 * NXinstrument and a small `detector_1` NXdata of counts.
 */
export async function writeIsisNexus(path: string, run: IsisRun): Promise<void> {
  await h5wasm.ready;
  mkdirSync(dirname(path), { recursive: true });
  const file = new h5wasm.File(path, "w");
  try {
    const entry = file.create_group("raw_data_1");
    entry.create_attribute("NX_class", "NXentry");
    const text = (group: Group, name: string, value: string) => writeText(group, name, value, run.padTo);
    text(entry, "definition", run.definition ?? "TOFRAW");
    text(entry, "beamline", run.instrument);
    text(entry, "name", run.instrument);
    entry.create_dataset({ name: "run_number", data: new Int32Array([run.runNumber]), shape: [1] });
    text(entry, "title", run.title);
    text(entry, "start_time", run.startTime);
    text(entry, "end_time", run.endTime);
    text(entry, "experiment_identifier", run.experiment);
    entry.create_dataset({ name: "raw_frames", data: new Int32Array([run.rawFrames]), shape: [1] });
    entry.create_dataset({ name: "good_frames", data: new Int32Array([run.goodFrames]), shape: [1] });
    const user = entry.create_group("user_1");
    user.create_attribute("NX_class", "NXuser");
    text(user, "name", run.users);
    const instrument = entry.create_group("instrument");
    instrument.create_attribute("NX_class", "NXinstrument");
    text(instrument, "name", run.instrument);
    const detector = entry.create_group("detector_1");
    detector.create_attribute("NX_class", "NXdata");
    detector.create_dataset({ name: "counts", data: new Int32Array([1, 2, 3, 4, 5, 6]), shape: [1, 2, 3] });
  } finally {
    file.close();
  }
}

function writeText(group: Group, name: string, value: string, padTo?: number): void {
  const padded = padTo !== undefined ? value.padEnd(padTo, " ") : value;
  const bytes = Math.max(1, Buffer.byteLength(padded, "utf8"));
  group.create_dataset({ name, data: [padded], shape: [1], dtype: `S${bytes}` });
}
