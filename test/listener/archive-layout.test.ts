import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { configFromObject } from "../../src/config/load-config.ts";
import { ArchiveLayout, type EntryKind } from "../../src/listener/archive-layout.ts";

const layout = (marker: string | null) =>
  ArchiveLayout.fromConfig(
    configFromObject(
      {
        archive: { roots: ["/archive"], completion_marker: marker },
        instruments: {
          ARCS: {},
          MARI: { pattern: "NDX{instrument}/Instrument/data/{cycle}/{prefix}{run}.nxs", prefix: "MAR" },
        },
      },
      "(test)",
      {},
    ),
  );

describe("ArchiveLayout.mayHold: what the watcher enters", () => {
  const cases: Array<{ path: string; kind: EntryKind; marker?: string; want: boolean }> = [
    { path: "/archive", kind: "directory", want: true },
    { path: "/archive/ARCS", kind: "directory", want: true },
    { path: "/archive/ARCS/IPTS-1", kind: "directory", want: true },
    { path: "/archive/ARCS/IPTS-1/nexus", kind: "directory", want: true },
    { path: "/archive/ARCS/IPTS-1/shared", kind: "directory", want: false },
    { path: "/archive/ARCS/IPTS-1/nexus/old", kind: "directory", want: false },
    { path: "/archive/SEQ", kind: "directory", want: false },
    { path: "/archive/NDXMARI/Instrument/data/cycle_1", kind: "directory", want: true },
    { path: "/archive/NDXMARI/Instrument/logs", kind: "directory", want: false },
    { path: "/archive/ARCS/IPTS-1/nexus/ARCS_1.nxs.h5", kind: "file", want: true },
    { path: "/archive/ARCS/IPTS-1/nexus/ARCS_1.nxs.h5", kind: "unknown", want: true },
    { path: "/archive/ARCS/IPTS-1/nexus/ARCS_1.log", kind: "file", want: false },
    { path: "/archive/ARCS/IPTS-1/nexus/ARCS_1.nxs.h5.done", kind: "file", want: false },
    { path: "/archive/ARCS/IPTS-1/nexus/ARCS_1.nxs.h5.done", kind: "file", marker: ".done", want: true },
    { path: "/archive/ARCS/IPTS-1/nexus/ARCS_1.log.done", kind: "file", marker: ".done", want: false },
    { path: "/archive/ARCS/IPTS-1", kind: "file", want: false },
    { path: "/archive/ARCS/IPTS-1", kind: "unknown", want: true },
    { path: "/elsewhere/x", kind: "directory", want: true },
  ];
  for (const c of cases) {
    test(`${c.kind} ${c.path}${c.marker ? ` (marker ${c.marker})` : ""}: ${c.want ? "entered" : "ignored"}`, () => {
      assert.equal(layout(c.marker ?? null).mayHold(c.path, c.kind), c.want);
    });
  }

  test("the watch depth reaches the deepest layout's files", () => {
    assert.equal(layout(null).maxDepth, 4);
  });
});

describe("ArchiveLayout.classify and markedFile", () => {
  test("a file is attributed to the instrument whose layout matches it", () => {
    const found = layout(null).classify("/archive/NDXMARI/Instrument/data/c1/MAR7.nxs");
    assert.equal(found?.layout.settings.name, "MARI");
    assert.equal(found?.relativePath, "NDXMARI/Instrument/data/c1/MAR7.nxs");
    assert.equal(found?.match.runNumber, 7);
  });
  test("a marker names its data file", () => {
    const marked = layout(".done").markedFile("/archive/ARCS/IPTS-1/nexus/ARCS_1.nxs.h5.done");
    assert.equal(marked?.path, "/archive/ARCS/IPTS-1/nexus/ARCS_1.nxs.h5");
    assert.equal(layout(null).markedFile("/archive/ARCS/IPTS-1/nexus/ARCS_1.nxs.h5.done"), null);
  });
  test("an instrument with several file patterns (OSIRIS: OSIRIS… and OSI…) owns the files of each, with whole run numbers", () => {
    const osiris = ArchiveLayout.fromConfig(
      configFromObject(
        {
          archive: { roots: ["/archive"] },
          instruments: {
            OSIRIS: {
              pattern: [
                "NDX{instrument}/Instrument/data/{cycle}/{instrument}{run}.nxs",
                "NDX{instrument}/Instrument/data/{cycle}/{prefix}{run}.nxs",
              ],
              prefix: "OSI",
            },
          },
        },
        "(test)",
        {},
      ),
    );
    const data = "/archive/NDXOSIRIS/Instrument/data";
    for (const [path, run] of [
      [`${data}/cycle_14_1/OSIRIS00108538.nxs`, 108538],
      [`${data}/cycle_14_1/OSIRIS00108539.nxs`, 108539],
      [`${data}/cycle_12_2/OSI98933.nxs`, 98933],
    ] as const) {
      const found = osiris.classify(path);
      assert.equal(found?.layout.settings.name, "OSIRIS", path);
      assert.equal(found?.match.runNumber, run, path);
      assert.equal(osiris.mayHold(path, "file"), true, path);
    }
    assert.equal(osiris.classify(`${data}/cycle_12_2/MAR98933.nxs`), null);
  });
  test("files outside the roots belong to no instrument", () => {
    assert.equal(layout(null).classify("/other/ARCS/IPTS-1/nexus/ARCS_1.nxs.h5"), null);
  });
});
