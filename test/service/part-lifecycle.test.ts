import assert from "node:assert/strict";
import { test } from "node:test";
import {
  canMove,
  move,
  PART_STATES,
  type PartState,
  PartTransitionError,
} from "../../src/service/part-lifecycle.ts";

// Every allowed move; any other pair is refused.
const allowed: Array<[from: PartState, to: PartState, why: string]> = [
  ["starting", "running", "its start finished"],
  ["starting", "failed", "its start rejected"],
  ["starting", "draining", "asked to stop while starting"],
  ["running", "draining", "asked to stop"],
  ["running", "failed", "it reported a fatal error"],
  ["draining", "stopped", "it finished what it held"],
  ["draining", "failed", "its stop threw"],
  ["failed", "starting", "serve restarts it"],
  ["failed", "stopped", "the process stops while a restart waits"],
];

for (const from of PART_STATES) {
  for (const to of PART_STATES) {
    const rule = allowed.find(([f, t]) => f === from && t === to);
    test(`a part ${rule ? "may" : "may not"} go from ${from} to ${to}${rule ? ` (${rule[2]})` : ""}`, () => {
      assert.equal(canMove(from, to), rule !== undefined);
      if (rule) assert.equal(move("web", from, to), to);
      else assert.throws(() => move("web", from, to), PartTransitionError);
    });
  }
}

test("stopped is final: nothing leaves it", () => {
  assert.ok(PART_STATES.every((to) => !canMove("stopped", to)));
});
