#!/usr/bin/env node
// Bundles the CLI into dist/ with esbuild (it comes with tsx): one file per command's code,
// loaded on demand. A bundled process starts faster and uses about half the memory of one
// that compiles TypeScript as it loads (a worker at rest: ~65 MB instead of ~130 MB).
// bin/autoreduce.js runs the bundle when it is newer than every source file, else the sources.
// Run by `npm install`/`npm ci` (prepare) and by `npm test`.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const outdir = join(root, "dist");
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, "src", "cli", "main.ts")],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Native or WebAssembly packages load their own files: resolve them from node_modules at run time.
  external: ["better-sqlite3", "h5wasm", "pg-native"],
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: "warning",
});
writeFileSync(join(outdir, "BUILT"), `${new Date().toISOString()}\n`);
