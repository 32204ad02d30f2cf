import assert from "node:assert/strict";
import { appendFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { FoundFile } from "../../src/listener/archive-walk.ts";
import {
  type CompletionRule,
  checkIntervalMs,
  FileSettling,
  observe,
} from "../../src/listener/file-settling.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** A tracker on a hand-driven clock, so that "unchanged for settle_seconds" is tested without waiting. */
function tracker(rule: CompletionRule) {
  let clock = 0;
  const complete: FoundFile[] = [];
  const settling = new FileSettling<string>(
    rule,
    (file) => complete.push(file),
    (path, e) => assert.fail(`unexpected error on ${path}: ${String(e)}`),
    () => clock,
  );
  return { settling, complete, advance: (ms: number) => (clock += ms) };
}

test("observe keeps the first sighting of an unchanged version and resets on any change", () => {
  const first = observe(null, { path: "f", size: 10, mtimeMs: 5 }, 100);
  assert.deepEqual(first, { size: 10, mtimeMs: 5, unchangedSince: 100 });
  assert.equal(observe(first, { path: "f", size: 10, mtimeMs: 5 }, 900), first);
  assert.deepEqual(observe(first, { path: "f", size: 11, mtimeMs: 5 }, 900).unchangedSince, 900);
  assert.deepEqual(observe(first, { path: "f", size: 10, mtimeMs: 6 }, 900).unchangedSince, 900);
});

test("a file is complete once unchanged for the settle time; growing restarts the wait", async (t) => {
  const dir = tempDir();
  t.after(dir.cleanup);
  const path = join(dir.path, "run.nxs");
  writeFileSync(path, "a");
  const { settling, complete, advance } = tracker({ kind: "quiet", settleMs: 1000 });
  await settling.observe(path, "ctx");
  advance(999);
  await settling.checkAll();
  assert.equal(complete.length, 0, "999 ms unchanged is not enough");
  appendFileSync(path, "more");
  advance(500);
  await settling.checkAll();
  advance(999);
  await settling.checkAll();
  assert.equal(complete.length, 0, "the wait restarted when the file grew");
  advance(1);
  await settling.checkAll();
  assert.deepEqual(
    complete.map((f) => [f.path, f.size]),
    [[path, 5]],
  );
  assert.equal(settling.size, 0);
});

test("with a marker a file is complete as soon as the marker exists", async (t) => {
  const dir = tempDir();
  t.after(dir.cleanup);
  const path = join(dir.path, "run.nxs");
  writeFileSync(path, "data");
  const { settling, complete } = tracker({ kind: "marker", marker: ".done" });
  await settling.observe(path, "ctx");
  await settling.checkAll();
  assert.equal(complete.length, 0);
  writeFileSync(`${path}.done`, "");
  await settling.observe(path, "ctx");
  assert.equal(complete.length, 1);
});

test("a file deleted before it was complete is forgotten", async (t) => {
  const dir = tempDir();
  t.after(dir.cleanup);
  const path = join(dir.path, "run.nxs");
  writeFileSync(path, "a");
  const { settling, complete, advance } = tracker({ kind: "quiet", settleMs: 1000 });
  await settling.observe(path, "ctx");
  rmSync(path);
  advance(2000);
  await settling.checkAll();
  assert.equal(settling.size, 0);
  assert.equal(complete.length, 0);
});

test("a deferred retry is handed back after its delay if the file did not change", async (t) => {
  const dir = tempDir();
  t.after(dir.cleanup);
  const path = join(dir.path, "run.nxs");
  writeFileSync(path, "abc");
  const { settling, complete, advance } = tracker({ kind: "quiet", settleMs: 1000 });
  await settling.observe(path, "ctx");
  advance(1000);
  await settling.checkAll();
  const [done] = complete.splice(0);
  assert.ok(done);
  settling.retryLater(done, "ctx", 250);
  await settling.checkAll();
  assert.equal(complete.length, 0, "not before the delay");
  advance(250);
  await settling.checkAll();
  assert.equal(complete.length, 1, "no second settle wait for an unchanged file");
});

test("tracked files are checked four times per settle period, between 20 ms and 1 s", () => {
  assert.equal(checkIntervalMs({ kind: "quiet", settleMs: 300 }), 75);
  assert.equal(checkIntervalMs({ kind: "quiet", settleMs: 0 }), 20);
  assert.equal(checkIntervalMs({ kind: "quiet", settleMs: 5000 }), 1000);
});
