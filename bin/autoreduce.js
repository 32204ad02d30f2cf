#!/usr/bin/env node
// Entry point. Runs the bundle in dist/ (built by `npm install` / `npm run build`) when it is
// newer than every source file; otherwise registers the TypeScript loader (tsx) and runs the
// sources, so an edited checkout never runs stale code. AUTOREDUCE_FROM_SOURCE=1 forces the sources.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";

// A worker holds little at a time (a few job messages, its reports): a young generation that does
// not grow past its first 1 MiB semi-spaces keeps ~4 MB out of its resident memory for a few more
// (sub-millisecond) scavenges. Set before anything is loaded; only heap sizing changes.
// The web process likewise: its pages are short-lived strings, freed by the next scavenge.
if (["worker", "web"].includes(process.argv[2] ?? "")) setFlagsFromString("--semi-space-growth-factor=1");

const root = join(import.meta.dirname, "..");

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  if (process.env.AUTOREDUCE_FROM_SOURCE === "1") return false;
  try {
    return statSync(join(root, "dist", "BUILT")).mtimeMs >= newestSource(join(root, "src"));
  } catch {
    return false;
  }
}

let main;
if (bundleIsFresh()) {
  ({ main } = await import("../dist/main.js"));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv);
