import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import h5wasm from "h5wasm/node";
import type { DemoRun } from "../../src/demo/event-nexus-writer.ts";
import { writeEventNexus } from "../../src/demo/event-nexus-writer.ts";
import { readNexusMetadata } from "../../src/nexus/nexus-metadata.ts";
import { NexusReadError } from "../../src/nexus/nexus-read-error.ts";

let dir = "";
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "autoreduce-nexus-"));
  await h5wasm.ready;
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes an HDF5 file directly with h5wasm, for layouts the demo writer does not produce. */
function writeH5(name: string, build: (root: InstanceType<typeof h5wasm.File>) => void): string {
  const file = path.join(dir, name);
  const h5 = new h5wasm.File(file, "w");
  try {
    build(h5);
  } finally {
    h5.close();
  }
  return file;
}

test("reads every field of a file written by writeEventNexus", async () => {
  const run: DemoRun = {
    instrument: "DEMO",
    runNumber: 4321,
    experiment: "IPTS-1234",
    title: "Si powder standard at 300 K (µ-test)",
    banks: 3,
    eventsPerBank: 1000,
    seed: 7,
    startTime: new Date("2024-05-01T10:00:00.000Z"),
    durationSeconds: 90,
  };
  const file = path.join(dir, "DEMO_4321.nxs.h5");
  await writeEventNexus(file, run);
  assert.deepEqual(await readNexusMetadata(file), {
    run_number: 4321,
    title: "Si powder standard at 300 K (µ-test)",
    start_time: "2024-05-01T10:00:00.000Z",
    end_time: "2024-05-01T10:01:30.000Z",
    experiment_identifier: "IPTS-1234",
    instrument_name: "DEMO",
    total_events: 3000,
  });
});

test("a file that is not HDF5 throws NexusReadError naming the path", async () => {
  const file = path.join(dir, "not-hdf5.nxs.h5");
  fs.writeFileSync(file, "this is plain text, not HDF5\n".repeat(100));
  await assert.rejects(readNexusMetadata(file), (e: unknown) => {
    assert.ok(e instanceof NexusReadError);
    assert.equal(e.name, "NexusReadError");
    assert.equal(e.path, file);
    assert.match(e.reason, /not an HDF5 file/);
    assert.ok(e.message.includes(file), e.message);
    return true;
  });
});

test("a missing file throws NexusReadError", async () => {
  const file = path.join(dir, "does-not-exist.nxs.h5");
  await assert.rejects(readNexusMetadata(file), (e: unknown) => {
    assert.ok(e instanceof NexusReadError);
    assert.equal(e.path, file);
    assert.match(e.reason, /does not exist/);
    return true;
  });
});

test("a truncated HDF5 file throws NexusReadError", async () => {
  const whole = path.join(dir, "whole.nxs.h5");
  await writeEventNexus(whole, {
    instrument: "DEMO",
    runNumber: 1,
    experiment: "IPTS-1",
    title: "t",
    banks: 1,
    eventsPerBank: 10,
    seed: 1,
    startTime: new Date(0),
    durationSeconds: 1,
  });
  const truncated = path.join(dir, "truncated.nxs.h5");
  fs.writeFileSync(truncated, fs.readFileSync(whole).subarray(0, 1000));
  await assert.rejects(readNexusMetadata(truncated), NexusReadError);
});

test("missing fields are absent, not errors (variable-length scalar strings, scalar numbers)", async () => {
  const file = writeH5("sparse.nxs.h5", (h5) => {
    const entry = h5.create_group("entry");
    entry.create_attribute("NX_class", "NXentry");
    entry.create_dataset({ name: "title", data: "only a title" });
    entry.create_dataset({ name: "run_number", data: 17 });
  });
  assert.deepEqual(await readNexusMetadata(file), { run_number: 17, title: "only a title" });
});

test("an HDF5 file without an NXentry gives empty metadata", async () => {
  const file = writeH5("no-entry.h5", (h5) => {
    h5.create_group("something_else").create_dataset({ name: "x", data: [1, 2, 3] });
  });
  assert.deepEqual(await readNexusMetadata(file), {});
});

test("reads the first NXentry by class, 1-element arrays, padded strings and summed banks", async () => {
  const file = writeH5("isis-like.nxs", (h5) => {
    const entry = h5.create_group("raw_data_1");
    entry.create_attribute("NX_class", "NXentry");
    entry.create_dataset({ name: "run_number", data: new Int32Array([99]) });
    entry.create_dataset({ name: "title", data: ["padded   "], shape: [1], dtype: "S12" });
    entry.create_dataset({ name: "start_time", data: ["2024-01-02T03:04:05"], shape: [1], dtype: "A32" });
    entry.create_group("instrument").create_dataset({ name: "name", data: "WISH" });
    for (const [name, events] of [
      ["bank1_events", 5],
      ["bank2_events", 7],
      ["bank_error_events", 100],
    ] as const) {
      const bank = entry.create_group(name);
      bank.create_dataset({ name: "event_id", data: new Uint32Array(events) });
    }
  });
  assert.deepEqual(await readNexusMetadata(file), {
    run_number: 99,
    title: "padded",
    start_time: "2024-01-02T03:04:05",
    instrument_name: "WISH",
    total_events: 12,
  });
});
