import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { configFromObject } from "../../src/config/load-config.ts";
import { ArchiveLayout } from "../../src/listener/archive-layout.ts";
import { ArchiveWatcher } from "../../src/listener/archive-watcher.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

/** A watcher over `root` for these instruments (SNS layout), and the files it reported. */
function watchArchive(root: string, instruments: string[]): { watcher: ArchiveWatcher; seen: Set<string> } {
  const layout = ArchiveLayout.fromConfig(
    configFromObject(
      { archive: { roots: [root] }, instruments: Object.fromEntries(instruments.map((name) => [name, {}])) },
      "(test)",
      {},
    ),
  );
  const seen = new Set<string>();
  const watcher = new ArchiveWatcher({
    layout,
    poll: false,
    pollIntervalMs: 1000,
    onFile: (path) => seen.add(path),
    onError: (e) => assert.fail(String(e)),
  });
  return { watcher, seen };
}

test("files written together with their new folders are all reported, however fast they come", async () => {
  const scratch = tempDir();
  const instruments = Array.from({ length: 30 }, (_, i) => `INST${i}`);
  const { watcher, seen } = watchArchive(scratch.path, instruments);
  try {
    await watcher.watchRoots();
    const written: string[] = [];
    // Each level appears a moment after its parent: the watch of a new folder races its contents.
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await Promise.all(
      instruments.map(async (name, i) => {
        for (const experiment of ["IPTS-1", "IPTS-2"]) {
          let dir = scratch.path;
          for (const part of [name, experiment, "nexus"]) {
            dir = join(dir, part);
            mkdirSync(dir, { recursive: true });
            await pause(i % 4);
          }
          const file = join(dir, `${name}_1.nxs.h5`);
          writeFileSync(file, "x");
          written.push(file);
        }
      }),
    );
    await waitFor(() => written.every((f) => seen.has(f)), "every file reported", 10_000).catch((e) => {
      throw new Error(
        `${e.message}: missed ${written.filter((f) => !seen.has(f)).length} of ${written.length}`,
      );
    });
  } finally {
    await watcher.close();
    scratch.cleanup();
  }
});

test("folders made while the watch starts are watched: files written into them later are reported", async () => {
  // The race of a listener that starts while a run is being written: the folders appear while
  // chokidar makes its first scan of the root, and the file only after the watch is ready.
  // chokidar loses such a folder now and then, so the race is run many times over.
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const missed: string[] = [];
  for (let round = 0; round < 60; round++) {
    const scratch = tempDir();
    const { watcher, seen } = watchArchive(scratch.path, ["RACE"]);
    try {
      const starting = watcher.watchRoots();
      await pause(round % 6);
      const dir = join(scratch.path, "RACE", "IPTS-1", "nexus");
      mkdirSync(dir, { recursive: true });
      await starting;
      const file = join(dir, `RACE_${round}.nxs.h5`);
      writeFileSync(file, "x");
      await waitFor(() => seen.has(file), "the file reported", 2_000).catch(() => missed.push(file));
      // And the folder stays watched: a later run is reported by its event.
      const later = join(dir, `RACE_${1000 + round}.nxs.h5`);
      writeFileSync(later, "x");
      await waitFor(() => seen.has(later), "the later file reported", 2_000).catch(() => missed.push(later));
    } finally {
      await watcher.close();
      scratch.cleanup();
    }
  }
  assert.deepEqual(missed, [], `${missed.length} of 120 files written after the start were never reported`);
});
