import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { readNexusMetadata } from "../../src/nexus/nexus-metadata.ts";
import { type IsisRun, writeIsisNexus } from "../helpers/isis-nexus.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/**
 * Real ISIS runs: file names, run numbers, RB numbers, titles and times as fiaisis/run-detection's
 * e2e tests expect them from its archive files. The muon file's values are illustrative (no
 * expected values were found for one); its structure is the NeXus v2 layout ISIS muon
 * instruments share with the neutron ones.
 */
const RUNS: Array<{ file: string; run: IsisRun }> = [
  {
    file: "NDXOSIRIS/Instrument/data/cycle_14_1/OSIRIS00108538.nxs",
    run: {
      instrument: "OSIRIS",
      runNumber: 108538,
      experiment: "1410511",
      title: "H2O 002_off QENS Cyl",
      startTime: "2014-05-18T02:50:47",
      endTime: "2014-05-18T04:55:39",
      rawFrames: 374740,
      goodFrames: 299728,
      users: "Dicko Dr I C",
    },
  },
  {
    file: "NDXOSIRIS/Instrument/data/cycle_12_2/OSI98933.nxs",
    run: {
      instrument: "OSIRIS",
      runNumber: 98933,
      experiment: "12345",
      title: "d1 12/2 Van Rod",
      startTime: "2012-07-11T16:23:24",
      endTime: "2012-07-11T16:46:50",
      rawFrames: 35169,
      goodFrames: 28136,
      users: " ",
      padTo: 80,
    },
  },
  {
    file: "NDXMAR/Instrument/data/cycle_19_4/MAR27030.nxs",
    run: {
      instrument: "MARI",
      runNumber: 27030,
      experiment: "1920321",
      title: "(Bi1-xYx)2O3 ; x=0.20 - Ei=130meV 400Hz Gd single - jaws=45x45 - T=900K",
      startTime: "2020-02-24T06:00:15",
      endTime: "2020-02-24T06:55:53",
      rawFrames: 166838,
      goodFrames: 133470,
      users: "Goel,Le,Mittal",
    },
  },
  {
    file: "NDXTOSCA/Instrument/data/cycle_19_4/TSC25234.nxs",
    run: {
      instrument: "TOSCA",
      runNumber: 25234,
      experiment: "2000118",
      title: "Olive oil sample 90pcEVOO8/10pcSTD1 run 0",
      startTime: "2020-03-03T00:54:31",
      endTime: "2020-03-03T04:22:34",
      rawFrames: 124806,
      goodFrames: 124801,
      users: "Senesi,Parker,Andreani,Preziosi",
    },
  },
  {
    file: "NDXIRIS/Instrument/data/cycle_24_3/IRIS00103226.nxs",
    run: {
      instrument: "IRIS",
      runNumber: 103226,
      experiment: "123456",
      title: "Quiet Counts 24/2",
      startTime: "2024-09-10T11:04:11",
      endTime: "2024-09-10T17:04:18",
      rawFrames: 1080339,
      goodFrames: 1080340,
      users: "team",
    },
  },
  {
    file: "NDXENGINX/Instrument/data/cycle_20_1/ENGINX00299080.nxs",
    run: {
      instrument: "ENGINX",
      runNumber: 299080,
      experiment: "1810794",
      title: "KangWang Al composite d0 sample B1 Axial B2 Rad Hoop 4x4x4",
      startTime: "2018-11-14T15:50:19",
      endTime: "2018-11-14T16:54:23",
      rawFrames: 95760,
      goodFrames: 76485,
      users: "Garcia,Lee",
      padTo: 100,
    },
  },
  {
    file: "NDXEMU/Instrument/data/cycle_24_1/EMU00102030.nxs",
    run: {
      instrument: "EMU",
      runNumber: 102030,
      experiment: "2410001",
      title: "Cu sample ZF T=10K",
      startTime: "2024-05-01T10:00:00",
      endTime: "2024-05-01T10:20:00",
      rawFrames: 72000,
      goodFrames: 71990,
      users: "Muon,User",
      definition: "muonTD",
    },
  },
];

describe("readNexusMetadata over ISIS NeXus files (raw_data_1 entry)", () => {
  const dir = tempDir("autoreduce-isis-nexus-");
  after(() => dir.cleanup());
  for (const { file, run } of RUNS) {
    test(`${file}: run ${run.runNumber}, RB ${run.experiment}, title and times as ISIS's run detection reads them`, async () => {
      const path = join(dir.path, file);
      await writeIsisNexus(path, run);
      const metadata = await readNexusMetadata(path);
      assert.equal(metadata.run_number, run.runNumber);
      assert.equal(metadata.experiment_identifier, run.experiment);
      assert.equal(metadata.title, run.title);
      assert.equal(metadata.start_time, run.startTime);
      assert.equal(metadata.end_time, run.endTime);
      assert.equal(metadata.instrument_name, run.instrument);
    });
  }
});
