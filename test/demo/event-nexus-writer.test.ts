import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import h5wasm from "h5wasm/node";
import type { DemoRun } from "../../src/demo/event-nexus-writer.ts";
import { writeEventNexus } from "../../src/demo/event-nexus-writer.ts";

let dir = "";
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "autoreduce-writer-"));
  await h5wasm.ready;
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const run: DemoRun = {
  instrument: "DEMO",
  runNumber: 12,
  experiment: "IPTS-1234",
  title: "Vanadium rod at 10 K",
  banks: 2,
  eventsPerBank: 5000,
  seed: 12,
  startTime: new Date("2024-05-01T10:00:00.000Z"),
  durationSeconds: 10,
};

/** Reads one dataset's dtype and values from a bank group. */
function readBank(file: string, bank: number) {
  const h5 = new h5wasm.File(file, "r");
  try {
    const group = h5.get(`entry/bank${bank}_events`);
    assert.ok(group instanceof h5wasm.Group);
    assert.equal(group.get_attribute("NX_class", false), "NXevent_data");
    const read = (name: string) => {
      const dataset = group.get(name);
      assert.ok(dataset instanceof h5wasm.Dataset, name);
      return { dtype: dataset.dtype, value: dataset.value };
    };
    return {
      eventId: read("event_id"),
      eventTimeOffset: read("event_time_offset"),
      eventTimeZero: read("event_time_zero"),
      eventIndex: read("event_index"),
    };
  } finally {
    h5.close();
  }
}

test("writes NXevent_data banks with the NeXus types and plausible values", async () => {
  const file = path.join(dir, "nested", "folders", "DEMO_12.nxs.h5");
  await writeEventNexus(file, run);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ["DEMO_12.nxs.h5"], "no temporary file left behind");

  const bank = readBank(file, 2);
  assert.equal(bank.eventId.dtype, "<I");
  assert.equal(bank.eventTimeOffset.dtype, "<f");
  assert.equal(bank.eventTimeZero.dtype, "<d");
  assert.equal(bank.eventIndex.dtype, "<Q");

  const tof = bank.eventTimeOffset.value;
  assert.ok(tof instanceof Float32Array);
  assert.equal(tof.length, 5000);
  assert.ok(tof.every((t) => t >= 1000 && t <= 16000));

  const pulses = bank.eventTimeZero.value;
  assert.ok(pulses instanceof Float64Array);
  assert.equal(pulses.length, 600, "60 Hz for 10 s");
  assert.ok(Math.abs((pulses[1] ?? 0) - 1 / 60) < 1e-12);

  const index = bank.eventIndex.value;
  assert.ok(index instanceof BigUint64Array);
  assert.equal(index.length, 600);
  assert.equal(index[0], 0n);
  assert.ok(
    index.every((v, i) => i === 0 || v >= (index[i - 1] ?? 0n)),
    "event_index is non-decreasing",
  );
  assert.ok((index[599] ?? 0n) <= 5000n);

  const ids = bank.eventId.value;
  assert.ok(ids instanceof Uint32Array);
  assert.ok(
    ids.every((id) => id >= 1024 && id < 2048),
    "bank 2 owns pixels 1024-2047",
  );
});

test("the same run parameters give the same events; banks differ", async () => {
  const first = path.join(dir, "a", "DEMO_12.nxs.h5");
  const second = path.join(dir, "b", "DEMO_12.nxs.h5");
  await writeEventNexus(first, run);
  await writeEventNexus(second, run);
  assert.deepEqual(readBank(first, 1).eventTimeOffset.value, readBank(second, 1).eventTimeOffset.value);
  assert.notDeepEqual(readBank(first, 1).eventTimeOffset.value, readBank(first, 2).eventTimeOffset.value);
});

test("invalid run parameters are rejected without leaving files", async () => {
  const file = path.join(dir, "bad", "DEMO_1.nxs.h5");
  await assert.rejects(writeEventNexus(file, { ...run, eventsPerBank: -1 }), RangeError);
  assert.equal(fs.existsSync(file), false);
});
