import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SNS_PATTERN } from "../../src/config/instrument-settings.ts";
import { compilePathPattern, insideRoot, type PathMatch } from "../../src/config/path-pattern.ts";

const ISIS_PATTERN = "NDX{instrument}/Instrument/data/{cycle}/{prefix}{run}.nxs";

const sns = compilePathPattern(SNS_PATTERN, "ARCS", "ARCS");
const isis = compilePathPattern(ISIS_PATTERN, "MARI", "MAR");

describe("compilePathPattern: matching paths relative to an archive root", () => {
  const cases: Array<{ name: string; pattern: typeof sns; path: string; want: PathMatch | null }> = [
    {
      name: "SNS: a run file gives its run number and experiment",
      pattern: sns,
      path: "ARCS/IPTS-1234/nexus/ARCS_5678.nxs.h5",
      want: { runNumber: 5678, experiment: "IPTS-1234", captures: { experiment: "IPTS-1234", run: "5678" } },
    },
    {
      name: "ISIS: the prefix (MAR for MARI) starts the file name; the cycle is captured, no experiment",
      pattern: isis,
      path: "NDXMARI/Instrument/data/cycle_23_4/MAR12345.nxs",
      want: { runNumber: 12345, experiment: null, captures: { cycle: "cycle_23_4", run: "12345" } },
    },
    {
      name: "ISIS: leading zeros of the run number are dropped",
      pattern: isis,
      path: "NDXMARI/Instrument/data/cycle_24_1/MAR00042.nxs",
      want: { runNumber: 42, experiment: null, captures: { cycle: "cycle_24_1", run: "00042" } },
    },
    {
      name: "OSIRIS: {*} before {run} leaves every digit to the run (108538, not 8)",
      pattern: compilePathPattern("NDX{instrument}/Instrument/data/{cycle}/{*}{run}.nxs", "OSIRIS", "OSI"),
      path: "NDXOSIRIS/Instrument/data/cycle_14_1/OSIRIS00108538.nxs",
      want: { runNumber: 108538, experiment: null, captures: { cycle: "cycle_14_1", run: "00108538" } },
    },
    {
      name: "OSIRIS: the short prefix's files keep their whole run number too (98933, not 3)",
      pattern: compilePathPattern("NDX{instrument}/Instrument/data/{cycle}/{*}{run}.nxs", "OSIRIS", "OSI"),
      path: "NDXOSIRIS/Instrument/data/cycle_12_2/OSI98933.nxs",
      want: { runNumber: 98933, experiment: null, captures: { cycle: "cycle_12_2", run: "98933" } },
    },
    { name: "SNS: wrong extension", pattern: sns, path: "ARCS/IPTS-1234/nexus/ARCS_5678.nxs", want: null },
    {
      name: "SNS: run is not digits",
      pattern: sns,
      path: "ARCS/IPTS-1234/nexus/ARCS_abc.nxs.h5",
      want: null,
    },
    { name: "SNS: wrong folder", pattern: sns, path: "ARCS/IPTS-1234/shared/ARCS_5678.nxs.h5", want: null },
    {
      name: "SNS: one folder too deep",
      pattern: sns,
      path: "ARCS/IPTS-1234/nexus/old/ARCS_5.nxs.h5",
      want: null,
    },
    {
      name: "SNS: a completion marker",
      pattern: sns,
      path: "ARCS/IPTS-1/nexus/ARCS_5.nxs.h5.done",
      want: null,
    },
    {
      name: "SNS: a writer's temporary file",
      pattern: sns,
      path: "ARCS/IPTS-1/nexus/.ARCS_5.nxs.h5.1.part",
      want: null,
    },
    {
      name: "SNS: another instrument's file",
      pattern: sns,
      path: "SEQ/IPTS-1/nexus/SEQ_1.nxs.h5",
      want: null,
    },
    {
      name: "SNS: another instrument's name in the file",
      pattern: sns,
      path: "ARCS/IPTS-1/nexus/SEQ_1.nxs.h5",
      want: null,
    },
    {
      name: "ISIS: the instrument name is not the prefix",
      pattern: isis,
      path: "NDXMARI/Instrument/data/c1/MARI1.nxs",
      want: null,
    },
    {
      name: "ISIS: another instrument",
      pattern: isis,
      path: "NDXMERLIN/Instrument/data/c1/MER1.nxs",
      want: null,
    },
    {
      name: "ISIS: the cycle folder is missing",
      pattern: isis,
      path: "NDXMARI/Instrument/data/MAR1.nxs",
      want: null,
    },
    {
      name: "an absolute path is not relative to a root",
      pattern: sns,
      path: "/ARCS/IPTS-1/nexus/ARCS_1.nxs.h5",
      want: null,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = c.pattern.match(c.path);
      assert.deepEqual(got === null ? null : { ...got, captures: { ...got.captures } }, c.want);
    });
  }
});

describe("compilePathPattern: segments for walking the archive", () => {
  test("segments made of literal text, {instrument} and {prefix} are literal; the others are not", () => {
    assert.deepEqual(
      sns.segments.map((s) => s.literal),
      ["ARCS", null, "nexus", null],
    );
    assert.deepEqual(
      isis.segments.map((s) => s.literal),
      ["NDXMARI", "Instrument", "data", null, null],
    );
  });

  const cases: Array<{ name: string; index: number; segment: string; want: boolean }> = [
    { name: "an experiment folder", index: 1, segment: "IPTS-1234", want: true },
    { name: "the instrument folder", index: 0, segment: "ARCS", want: true },
    { name: "another instrument's folder", index: 0, segment: "SEQ", want: false },
    { name: "a run file", index: 3, segment: "ARCS_12.nxs.h5", want: true },
    { name: "a non-run file", index: 3, segment: "ARCS_12.log", want: false },
  ];
  for (const c of cases) {
    test(`SNS segment ${c.index} ${c.want ? "accepts" : "rejects"} ${c.name}`, () => {
      assert.equal(sns.segments[c.index]?.regex.test(c.segment), c.want);
    });
  }

  test("{*} matches anything within one segment, and {experiment} twice captures the first", () => {
    const p = compilePathPattern("{experiment}/{*}/{experiment}-{prefix}{run}.h5", "X", "Xp");
    assert.equal(p.match("RB1/any thing/RB1-Xp7.h5")?.experiment, "RB1");
    assert.equal(p.match("RB1/a/b/RB1-Xp7.h5"), null);
  });
});

describe("compilePathPattern: invalid layouts", () => {
  test("a pattern without {run} is refused", () => {
    assert.throws(() => compilePathPattern("{instrument}/{experiment}/file.nxs", "A", "A"), /no \{run\}/);
  });
  test("an unknown placeholder is refused", () => {
    assert.throws(
      () => compilePathPattern("{Experiment}/{run}.nxs", "A", "A"),
      /unknown placeholder \{Experiment\}/,
    );
  });
});

describe("insideRoot", () => {
  const cases: Array<{ name: string; file: string; want: string | null }> = [
    { name: "a file under the root", file: "/data/archive/ARCS/x.nxs", want: "ARCS/x.nxs" },
    { name: "the root itself", file: "/data/archive", want: null },
    { name: "a sibling folder with the root's name as prefix", file: "/data/archive2/x.nxs", want: null },
    { name: "escaping with ..", file: "/data/archive/../secret/x.nxs", want: null },
    { name: "the parent", file: "/data/archive/..", want: null },
    { name: ".. inside the root that stays inside", file: "/data/archive/A/../B/x.nxs", want: "B/x.nxs" },
    {
      name: "a folder whose name starts with ..",
      file: "/data/archive/..notes/x.nxs",
      want: "..notes/x.nxs",
    },
    { name: "somewhere else", file: "/etc/passwd", want: null },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.want ?? "null"}`, () => {
      assert.equal(insideRoot("/data/archive", c.file), c.want);
    });
  }
});
