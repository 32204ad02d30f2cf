import assert from "node:assert/strict";
import { test } from "node:test";
import { type DaemonSnapshot, daemonChanged, isOutdated } from "../../src/service/daemon-changes.ts";

const worker = (state: DaemonSnapshot["state"], running: string[] | null, at = 1000): DaemonSnapshot => ({
  subject: "daemon",
  daemon: "host:postprocessing:42",
  src_name: "host",
  role: "postprocessing",
  pid: 42,
  kind: "worker",
  state,
  running,
  last_seen_at: at,
});

type Case = [before: DaemonSnapshot | undefined, after: DaemonSnapshot, news: boolean, why: string];
const cases: Case[] = [
  [undefined, worker("ok", []), true, "a daemon never seen appears"],
  [worker("ok", []), worker("ok", [], 2000), false, "another beat saying the same"],
  [worker("ok", []), worker("stale", []), true, "ok turns stale"],
  [worker("stale", []), worker("dead", []), true, "stale turns dead"],
  [worker("dead", []), worker("ok", [], 2000), true, "a dead daemon heard from again"],
  [worker("ok", ["a"]), worker("stopped", ["a"]), true, "a clean stop"],
  [worker("stopped", []), worker("stopped", []), false, "still stopped"],
  [worker("ok", []), worker("ok", ["a"]), true, "a job starts"],
  [worker("ok", ["a", "b"]), worker("ok", ["b", "a"]), false, "the same jobs in another order"],
  [worker("ok", ["a", "b"]), worker("ok", ["a", "c"]), true, "one job ends as another starts"],
  [worker("ok", null), worker("ok", []), true, "a daemon that starts saying what it runs"],
  [worker("ok", null), worker("ok", null), false, "an SNS agent that never says what it runs"],
];

for (const [before, after, news, why] of cases) {
  test(`a daemon change is ${news ? "" : "not "}published when ${why}`, () => {
    assert.equal(daemonChanged(before, after), news);
  });
}

test("a state read before a newer beat was recorded is outdated, and ignored", () => {
  assert.equal(isOutdated(worker("ok", [], 2000), worker("stale", [], 1000)), true);
  assert.equal(isOutdated(worker("ok", [], 2000), worker("stale", [], 2000)), false);
  assert.equal(isOutdated(undefined, worker("ok", [], 1000)), false);
});
