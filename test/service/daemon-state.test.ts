import assert from "node:assert/strict";
import { test } from "node:test";
import { formatAge, formatPart, formatRunning } from "../../src/cli/status-command.ts";
import { type DaemonState, daemonState } from "../../src/store/heartbeat-store.ts";

// Stale after 15 s (SNS WebMon's yellow), dead after 120 s.
const cases: Array<[ageMs: number, status: string, expected: DaemonState, why: string]> = [
  [0, "0", "ok", "just heard from"],
  [15_000, "0", "ok", "exactly stale_seconds old is still ok"],
  [15_001, "0", "stale", "older than stale_seconds"],
  [120_000, "0", "stale", "exactly dead_seconds old is still stale"],
  [120_001, "0", "dead", "older than dead_seconds"],
  [10 * 86_400_000, "0", "dead", "silent for days"],
  [0, "stopped", "stopped", "a clean stop, just now"],
  [10 * 86_400_000, "stopped", "stopped", "a clean stop long ago never turns dead"],
  [30_000, "1", "stale", "another status (an SNS fault code) is judged by age"],
];

for (const [ageMs, status, expected, why] of cases) {
  test(`a daemon last heard ${ageMs} ms ago with status "${status}" is ${expected} (${why})`, () => {
    assert.equal(daemonState(ageMs, status, 15, 120), expected);
  });
}

test("ages in the status table read as seconds, minutes, hours or days ago", () => {
  assert.deepEqual([0.4, 3, 89, 90, 600, 5400, 7200, 200_000].map(formatAge), [
    "0 s ago",
    "3 s ago",
    "89 s ago",
    "2 min ago",
    "10 min ago",
    "2 h ago",
    "2 h ago",
    "2 d ago",
  ]);
});

test("the RUNNING cell: '-' for a daemon that is not a worker, the count and the start of the job ids", () => {
  assert.equal(formatRunning(null), "-");
  assert.equal(formatRunning([]), "0");
  assert.equal(formatRunning(["1f0c2a9e-aaaa", "77b3d1c4-bbbb"]), "2: 1f0c2a9e, 77b3d1c4");
  assert.equal(formatRunning(["a", "b", "c", "d"]), "4: a, b, c, ...");
});

test("the PART cell: the lifecycle state, with the restarts when there were any; '-' when not sent", () => {
  assert.equal(formatPart(null, null), "-");
  assert.equal(formatPart("running", 0), "running");
  assert.equal(formatPart("running", null), "running");
  assert.equal(formatPart("failed", 1), "failed, 1 restart");
  assert.equal(formatPart("running", 3), "running, 3 restarts");
});
