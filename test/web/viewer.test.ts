import assert from "node:assert/strict";
import { test } from "node:test";
import {
  anonymousViewer,
  canAdminister,
  canChangeRun,
  canManageInstrument,
  canReadExperiment,
  canReadInstrument,
  canReadRun,
  rerunCapRole,
  runScope,
  type Viewer,
  verdict,
} from "../../src/web/auth/viewer.ts";

const base = anonymousViewer(["DEMO"]);
const person = (over: Partial<Viewer>): Viewer => ({ ...base, kind: "user", name: "p", userId: 1, ...over });
const who: Record<string, Viewer> = {
  anonymous: base,
  admin: person({ admin: true, readAll: true }),
  mari: person({ scientistOf: new Set(["MARI"]) }),
  member: person({ memberOf: new Set(["IPTS-1"]) }),
  outsider: person({}),
  readToken: { ...base, kind: "token", name: "dash", readAll: true },
};
const mariRun = { instrument: "MARI", experiment: "IPTS-1" };
const demoRun = { instrument: "demo", experiment: "IPTS-9" };

test("who reads which run", () => {
  const table: Array<[string, boolean, boolean]> = [
    // viewer, reads MARI run of IPTS-1, reads DEMO run (anonymous-read instrument)
    ["anonymous", false, true],
    ["admin", true, true],
    ["mari", true, true],
    ["member", true, true],
    ["outsider", false, true],
    ["readToken", true, true],
  ];
  for (const [name, mari, demo] of table) {
    const v = who[name] as Viewer;
    assert.equal(canReadRun(v, mariRun), mari, `${name} MARI`);
    assert.equal(canReadRun(v, demoRun), demo, `${name} DEMO`);
  }
});

test("who changes what: managers per instrument, members their runs, never anonymous or read tokens", () => {
  const table: Array<[string, boolean, boolean, boolean]> = [
    // viewer, manages MARI, changes the MARI run of IPTS-1, administers
    ["anonymous", false, false, false],
    ["admin", true, true, true],
    ["mari", true, true, false],
    ["member", false, true, false],
    ["outsider", false, false, false],
    ["readToken", false, false, false],
  ];
  for (const [name, manage, change, admin] of table) {
    const v = who[name] as Viewer;
    assert.equal(canManageInstrument(v, "mari"), manage, `${name} manage`);
    assert.equal(canChangeRun(v, mariRun), change, `${name} change`);
    assert.equal(canAdminister(v), admin, `${name} admin`);
  }
  // An anonymous viewer who somehow had a membership still changes nothing.
  assert.equal(canChangeRun({ ...base, memberOf: new Set(["IPTS-1"]) }, mariRun), false);
});

test("experiments, verdicts, caps and the list scope", () => {
  assert.equal(canReadExperiment(who.member as Viewer, "IPTS-1", ["WISH"]), true);
  assert.equal(canReadExperiment(who.outsider as Viewer, "IPTS-1", ["WISH"]), false);
  assert.equal(canReadExperiment(who.outsider as Viewer, "IPTS-9", ["DEMO"]), true);
  assert.equal(canReadInstrument(who.mari as Viewer, "Mari"), true);
  assert.equal(verdict(base, false), "unauthenticated");
  assert.equal(verdict(who.outsider as Viewer, false), "forbidden");
  assert.equal(verdict(who.outsider as Viewer, true), "allow");
  assert.deepEqual(
    ["admin", "mari", "member"].map((n) => rerunCapRole(who[n] as Viewer, "MARI")),
    ["admin", "staff", "user"],
  );
  assert.deepEqual(runScope(who.admin as Viewer), { all: true });
  assert.deepEqual(runScope(who.member as Viewer), {
    all: false,
    instruments: ["DEMO"],
    experiments: ["IPTS-1"],
  });
  assert.deepEqual(runScope(who.mari as Viewer), {
    all: false,
    instruments: ["DEMO", "MARI"],
    experiments: [],
  });
});
