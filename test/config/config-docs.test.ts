import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { z } from "zod";
import { ConfigSchema } from "../../src/config/config-schema.ts";

/** Every key path of the config schema (records shown as `<NAME>`). */
function keyPaths(schema: unknown, prefix = ""): string[] {
  const node = schema as {
    type?: string;
    properties?: Record<string, unknown>;
    additionalProperties?: unknown;
  };
  const out: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    out.push(path, ...keyPaths(child, path));
  }
  if (node.additionalProperties && typeof node.additionalProperties === "object") {
    out.push(...keyPaths(node.additionalProperties, `${prefix}.<NAME>`));
  }
  return out;
}

test("docs/configuration.md describes every key of the config schema", () => {
  const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "configuration.md"), "utf8");
  const leaves = keyPaths(z.toJSONSchema(ConfigSchema, { io: "input" })).filter(
    (path, _, all) => !all.some((other) => other.startsWith(`${path}.`)),
  );
  assert.ok(leaves.length > 30, `found ${leaves.length} keys`);
  const missing = leaves.filter((path) => !doc.includes(`\`${path}\``));
  assert.deepEqual(missing, [], "keys missing from docs/configuration.md");
});
