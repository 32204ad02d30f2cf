import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { configFromObject } from "../../src/config/load-config.ts";
import { type ArchiveFile, ArchiveLayout } from "../../src/listener/archive-layout.ts";
import { isBackfill, planAnnouncement } from "../../src/listener/run-announcement.ts";
import type { NexusMetadata } from "../../src/nexus/nexus-metadata.ts";

const config = configFromObject(
  {
    facility: "SNS",
    archive: { roots: ["/archive"] },
    instruments: {
      ARCS: {},
      MARI: {
        facility: "ISIS",
        pattern: "NDX{instrument}/Instrument/data/{cycle}/{prefix}{run}.nxs",
        prefix: "MAR",
      },
    },
  },
  "(test)",
  {},
);
const layout = ArchiveLayout.fromConfig(config);

function file(path: string): ArchiveFile {
  const found = layout.classify(path);
  assert.ok(found, `${path} belongs to a layout`);
  return found;
}

const SNS_FILE = "/archive/ARCS/IPTS-1234/nexus/ARCS_5678.nxs.h5";
const ISIS_FILE = "/archive/NDXMARI/Instrument/data/cycle_24_1/MAR00042.nxs";
const version = { size: 1000, mtimeMs: 1_700_000_000_123 };

describe("planAnnouncement", () => {
  const cases: Array<{
    name: string;
    path: string;
    metadata: NexusMetadata | null;
    want: {
      kind: "announce" | "reject";
      ipts?: string;
      run: number;
      facility: string;
      warnings: RegExp[];
      /** The reason of a reject, when not the usual "no experiment". */
      error?: RegExp;
    };
  }> = [
    {
      name: "SNS: experiment and run from the path, metadata agrees",
      path: SNS_FILE,
      metadata: { run_number: 5678, experiment_identifier: "IPTS-1234", title: "t" },
      want: { kind: "announce", ipts: "IPTS-1234", run: 5678, facility: "SNS", warnings: [] },
    },
    {
      name: "SNS: a path and a file that disagree on the run number go to the error queue with both",
      path: SNS_FILE,
      metadata: { run_number: 5679 },
      want: {
        kind: "reject",
        run: 5678,
        facility: "SNS",
        warnings: [],
        error: /run number 5678 in the path .* differs from entry\/run_number 5679 in the file/,
      },
    },
    {
      name: "SNS: the path's experiment wins over the file's, with a warning",
      path: SNS_FILE,
      metadata: { experiment_identifier: "IPTS-9" },
      want: {
        kind: "announce",
        ipts: "IPTS-1234",
        run: 5678,
        facility: "SNS",
        warnings: [/IPTS-1234 .* IPTS-9/],
      },
    },
    {
      name: "SNS: unreadable metadata still announces (the path has the experiment)",
      path: SNS_FILE,
      metadata: null,
      want: { kind: "announce", ipts: "IPTS-1234", run: 5678, facility: "SNS", warnings: [] },
    },
    {
      name: "ISIS: the experiment comes from the file; the instrument's facility is used",
      path: ISIS_FILE,
      metadata: { experiment_identifier: "RB2410001", run_number: 42 },
      want: { kind: "announce", ipts: "RB2410001", run: 42, facility: "ISIS", warnings: [] },
    },
    {
      name: "ISIS: no experiment in the path or the file is rejected",
      path: ISIS_FILE,
      metadata: { run_number: 42 },
      want: { kind: "reject", run: 42, facility: "ISIS", warnings: [] },
    },
    {
      name: "ISIS: an experiment from the file that climbs out of a folder is rejected",
      path: ISIS_FILE,
      metadata: { experiment_identifier: "../../ESCAPED", run_number: 42 },
      want: { kind: "reject", run: 42, facility: "ISIS", warnings: [], error: /cannot be recorded/ },
    },
    {
      name: "ISIS: the calibration placeholder is announced as it is (the coordinator records it as skipped)",
      path: ISIS_FILE,
      metadata: { experiment_identifier: "INVALID RB NUMBER CALIBRATION RUN PERHAPS", run_number: 42 },
      want: {
        kind: "announce",
        ipts: "INVALID RB NUMBER CALIBRATION RUN PERHAPS",
        run: 42,
        facility: "ISIS",
        warnings: [],
      },
    },
    {
      name: "ISIS: unreadable metadata and no experiment in the path is rejected",
      path: ISIS_FILE,
      metadata: null,
      want: { kind: "reject", run: 42, facility: "ISIS", warnings: [] },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = planAnnouncement(
        file(c.path),
        version,
        c.metadata,
        c.metadata ? null : "not an HDF5 file",
      );
      assert.equal(plan.kind, c.want.kind);
      assert.equal(plan.body.run_number, c.want.run);
      assert.equal(plan.body.facility, c.want.facility);
      assert.equal(plan.body.data_file, c.path);
      assert.equal(plan.body.started_by, "listener");
      assert.equal(plan.body.dedupe_key, `${c.path}:1000:1700000000123`);
      assert.deepEqual(plan.body.metadata, c.metadata ?? undefined);
      assert.equal(plan.warnings.length, c.want.warnings.length, plan.warnings.join("; "));
      for (const [i, w] of c.want.warnings.entries()) assert.match(plan.warnings[i] ?? "", w);
      if (plan.kind === "announce") assert.equal(plan.body.ipts, c.want.ipts);
      else
        assert.match(
          plan.body.error,
          c.want.error ?? (c.metadata ? /no entry\/experiment_identifier/ : /not an HDF5 file/),
        );
    });
  }
});

describe("isBackfill", () => {
  const now = 1_700_000_000_000;
  const hour = 3_600_000;
  const cases: Array<{
    name: string;
    recorded: Parameters<typeof isBackfill>[0];
    age: number;
    want: boolean;
    /** The window (default 24 h); `started`: ms before now the listener started (default: now). */
    hours?: number;
    started?: number;
  }> = [
    {
      name: "with 0 hours, a file written before the start",
      recorded: undefined,
      age: 2_000,
      hours: 0,
      started: 1_000,
      want: true,
    },
    {
      name: "with 0 hours, a file written after the start",
      recorded: undefined,
      age: 500,
      hours: 0,
      started: 1_000,
      want: false,
    },
    {
      name: "a file written after the start and seen days later",
      recorded: undefined,
      age: 72 * hour,
      started: 96 * hour,
      want: false,
    },
    { name: "a new file inside the window", recorded: undefined, age: 23 * hour, want: false },
    { name: "a new file outside the window", recorded: undefined, age: 25 * hour, want: true },
    {
      name: "an ignored file that changed but is still old",
      recorded: { size: 1, mtimeMs: 0, state: "ignored" },
      age: 25 * hour,
      want: true,
    },
    {
      name: "an announced file rewritten with an old mtime (a rewrite, not a backfill)",
      recorded: { size: 1, mtimeMs: 0, state: "announced" },
      age: 25 * hour,
      want: false,
    },
    {
      name: "a rejected file changed with an old mtime",
      recorded: { size: 1, mtimeMs: 0, state: "rejected" },
      age: 25 * hour,
      want: false,
    },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.want ? "ignored" : "announced"}`, () => {
      assert.equal(isBackfill(c.recorded, now - c.age, now, c.hours ?? 24, now - (c.started ?? 0)), c.want);
    });
  }
});
