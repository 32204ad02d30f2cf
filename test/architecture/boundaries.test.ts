import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const SRC = resolve(import.meta.dirname, "../../src");

/**
 * Which folders of src/ each folder may import from. Dependencies follow the parts, never the
 * other way (docs/architecture.md, "Folders and their boundaries"): the CLI wires parts; parts use
 * the transport, the store, messages and config; the store speaks in domain facts and knows no
 * part; a worker reports through messages and never touches the store; the web never runs scripts.
 */
const ALLOWED: Record<string, readonly string[]> = {
  failures: [],
  logging: [],
  messages: ["failures"],
  nexus: ["failures", "logging"],
  config: ["failures", "messages", "logging"],
  store: ["failures", "messages", "logging", "config", "scripts"],
  transport: ["failures", "messages", "logging", "config", "store"],
  executors: ["failures", "messages", "logging", "config"],
  scripts: ["failures", "messages", "logging", "config", "executors"],
  service: ["failures", "messages", "logging", "config", "transport", "store"],
  worker: ["failures", "messages", "logging", "config", "transport", "executors", "scripts", "service"],
  listener: ["failures", "messages", "logging", "config", "transport", "store", "nexus", "service"],
  coordinator: [
    "failures",
    "messages",
    "logging",
    "config",
    "transport",
    "store",
    "scripts",
    "service",
    "nexus",
  ],
  catalog: ["failures", "messages", "logging", "config", "store"],
  web: [
    "catalog",
    "failures",
    "messages",
    "logging",
    "config",
    "transport",
    "store",
    "scripts",
    "service",
    "coordinator",
  ],
  demo: ["failures", "messages", "logging", "config", "nexus"],
  cli: ["*"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|mjs)$/.test(name) ? [full] : [];
  });
}

function folderOf(file: string): string | null {
  const rel = relative(SRC, file);
  if (rel.startsWith("..")) return null;
  const parts = rel.split("/");
  return parts.length > 1 ? (parts[0] ?? null) : ".";
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    if (m[1]) found.push(resolve(dirname(file), m[1]));
  }
  return found;
}

test("every folder of src/ imports only from the folders its rule allows", () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    if (!from || from === ".") continue;
    const allowed = ALLOWED[from];
    if (!allowed) {
      violations.push(`src/${from}/ has no rule in this test: add one`);
      continue;
    }
    if (allowed.includes("*")) continue;
    for (const target of importsOf(file)) {
      const to = folderOf(target);
      if (to === null || to === "." || to === from || allowed.includes(to)) continue;
      violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)} (${from} → ${to})`);
    }
  }
  assert.deepEqual([...new Set(violations)], []);
});

test("the rule table names only folders that exist, so a renamed folder cannot slip past it", () => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  for (const name of Object.keys(ALLOWED)) assert.ok(folders.includes(name), `no folder src/${name}`);
  for (const name of folders) assert.ok(ALLOWED[name], `src/${name} has no rule`);
});
