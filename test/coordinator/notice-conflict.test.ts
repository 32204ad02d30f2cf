import assert from "node:assert/strict";
import { test } from "node:test";
import { decideNoticeConflict } from "../../src/coordinator/notice-conflict.ts";

const earlier = [{ instrument: "TR", experiment: "IPTS-1", runNumber: 999 }];
const notice = { instrument: "TR", experiment: "IPTS-1", runNumber: 3 };

const cases: Array<[string, number | null, "record" | "refuse", RegExp]> = [
  ["the file's run number cannot be read", null, "record", /cannot be read.*taken as it is/],
  ["the file agrees with the notice", 3, "record", /agrees with this notice/],
  [
    "the file agrees with the earlier notice",
    999,
    "refuse",
    /TR run 999 \(IPTS-1\).*TR run 3 \(IPTS-1\).*run_number is 999/,
  ],
  ["the file names a third run", 7, "refuse", /run_number is 7/],
];

for (const [name, fileRun, action, text] of cases) {
  test(`a conflicting notice when ${name}: ${action}`, () => {
    const decision = decideNoticeConflict("/a/TR_3.nxs.h5", notice, earlier, fileRun);
    assert.equal(decision.action, action);
    assert.match(decision.action === "record" ? decision.note : decision.reason, text);
  });
}
