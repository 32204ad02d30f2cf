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

/**
 * zod re-exports all its ~60 message locales as `z.locales`, and `import { z } from "zod"` keeps
 * them all in the bundle (a namespace object cannot be tree-shaken): 0.6 MB that every process
 * parses and holds. Messages are English (zod's default, set from `en` directly), so the locale
 * index is replaced by one that offers `en` only.
 */
const englishOnlyZod = {
  name: "english-only-zod",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${join("node_modules", "zod")}`)
        ? { path: join(args.resolveDir, "..", "locales", "en.js"), namespace: "zod-locales" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: root,
    }));
  },
};
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
  external: ["better-sqlite3", "h5wasm", "pg-native", "@node-rs/argon2"],
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  plugins: [englishOnlyZod],
  logLevel: "warning",
});
writeFileSync(join(outdir, "BUILT"), `${new Date().toISOString()}\n`);
