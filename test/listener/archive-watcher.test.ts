import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { configFromObject } from "../../src/config/load-config.ts";
import { ArchiveLayout } from "../../src/listener/archive-layout.ts";
import { ArchiveWatcher } from "../../src/listener/archive-watcher.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

test("files written together with their new folders are all reported, however fast they come", async () => {
  const scratch = tempDir();
  const instruments = Array.from({ length: 30 }, (_, i) => `INST${i}`);
  const layout = ArchiveLayout.fromConfig(
    configFromObject(
      {
        archive: { roots: [scratch.path] },
        instruments: Object.fromEntries(instruments.map((name) => [name, {}])),
      },
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
