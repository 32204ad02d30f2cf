import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { startDemoInstrument } from "../../src/demo/demo-instrument.ts";
import { readNexusMetadata } from "../../src/nexus/nexus-metadata.ts";

let dir = "";
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "autoreduce-demo-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Polls `condition` until it holds, failing after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

type RunInfo = { runNumber: number; path: string };
const small = { instrument: "DEMO", experiment: "IPTS-1234", banks: 2, eventsPerBank: 200 };

test("writes consecutive runs in the SNS archive layout", async () => {
  const archiveRoot = path.join(dir, "layout");
  const runs: RunInfo[] = [];
  const demo = startDemoInstrument({
    ...small,
    archiveRoot,
    intervalMs: 20,
    firstRun: 1,
    onRun: (r) => runs.push(r),
  });
  try {
    await waitFor(() => runs.length >= 3, "three runs");
  } finally {
    await demo.stop();
  }
  const folder = path.join(archiveRoot, "DEMO", "IPTS-1234", "nexus");
  assert.deepEqual(
    runs.slice(0, 3).map((r) => r.runNumber),
    [1, 2, 3],
  );
  for (const run of runs) {
    assert.equal(run.path, path.join(folder, `DEMO_${run.runNumber}.nxs.h5`));
    assert.ok(fs.existsSync(run.path));
  }
  const names = fs.readdirSync(folder).sort();
  assert.ok(
    names.every((n) => /^DEMO_\d+\.nxs\.h5$/.test(n)),
    `only finished run files: ${names}`,
  );
  assert.equal(names.length, runs.length);

  const metadata = await Promise.all(runs.slice(0, 3).map((r) => readNexusMetadata(r.path)));
  assert.deepEqual(
    metadata.map((m) => [m.run_number, m.instrument_name, m.experiment_identifier, m.total_events]),
    [
      [1, "DEMO", "IPTS-1234", 400],
      [2, "DEMO", "IPTS-1234", 400],
      [3, "DEMO", "IPTS-1234", 400],
    ],
  );
  assert.equal(new Set(metadata.map((m) => m.title)).size, 3, "titles vary between runs");
});

test("continues numbering after the highest run already in the folder", async () => {
  const archiveRoot = path.join(dir, "continue");
  const folder = path.join(archiveRoot, "DEMO", "IPTS-1234", "nexus");
  fs.mkdirSync(folder, { recursive: true });
  for (const name of [
    "DEMO_7.nxs.h5",
    "DEMO_41.nxs.h5",
    "DEMO_abc.nxs.h5",
    "OTHER_99.nxs.h5",
    "DEMO_50.txt",
  ]) {
    fs.writeFileSync(path.join(folder, name), "");
  }
  const runs: RunInfo[] = [];
  const demo = startDemoInstrument({
    ...small,
    archiveRoot,
    intervalMs: 20,
    firstRun: 1,
    onRun: (r) => runs.push(r),
  });
  try {
    await waitFor(() => runs.length >= 2, "two runs");
  } finally {
    await demo.stop();
  }
  assert.deepEqual(
    runs.slice(0, 2).map((r) => r.runNumber),
    [42, 43],
  );
  assert.equal((await readNexusMetadata(path.join(folder, "DEMO_42.nxs.h5"))).run_number, 42);
});

test("stop() waits for the run being written and no further runs start", async () => {
  const archiveRoot = path.join(dir, "stop");
  const runs: RunInfo[] = [];
  const demo = startDemoInstrument({
    ...small,
    eventsPerBank: 20_000,
    archiveRoot,
    intervalMs: 0,
    firstRun: 100,
    onRun: (r) => runs.push(r),
  });
  // The instrument's first-run timer was created before this one, so it fires first: the write has begun.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(runs.length, 0, "the first run is still being written");
  await demo.stop();
  assert.deepEqual(
    runs.map((r) => r.runNumber),
    [100],
  );
  const folder = path.join(archiveRoot, "DEMO", "IPTS-1234", "nexus");
  assert.deepEqual(fs.readdirSync(folder), ["DEMO_100.nxs.h5"]);
  await demo.stop(); // idempotent
});

test("reports write failures through onError and keeps going until stopped", async () => {
  const archiveRoot = path.join(dir, "not-a-folder");
  fs.writeFileSync(archiveRoot, "a file where the archive folder should be");
  const errors: Error[] = [];
  const demo = startDemoInstrument({
    ...small,
    archiveRoot,
    intervalMs: 10,
    firstRun: 1,
    onError: (e) => errors.push(e),
  });
  try {
    await waitFor(() => errors.length >= 2, "two errors");
  } finally {
    await demo.stop();
  }
  assert.match(errors[0]?.message ?? "", /ENOTDIR/);
});
