import assert from "node:assert/strict";
import { test } from "node:test";
import { partStart } from "../../src/cli/part-starts.ts";
import { ROLE_OF_KIND } from "../../src/service/heartbeat.ts";
import { PARTS, partCommandLine, partDeclaration, partOfRole } from "../../src/service/part-registry.ts";

test("every part is declared once, with its own command and heartbeat role", () => {
  assert.deepEqual(
    PARTS.map((p) => [p.name, p.role]),
    [
      ["coordinator", "workflowmgr"],
      ["worker", "postprocessing"],
      ["web", "web"],
      ["listener", "listener"],
    ],
  );
  assert.equal(new Set(PARTS.map((p) => p.role)).size, PARTS.length);
});

test("heartbeats take each part's role from the registry", () => {
  for (const part of PARTS) assert.equal(ROLE_OF_KIND[part.name], part.role);
  assert.equal(partOfRole("postprocessing")?.name, "worker");
  assert.equal(partOfRole("some-sns-daemon"), null);
});

test("only the coordinator's process records heartbeats; only the worker goes without a database", () => {
  assert.deepEqual(
    PARTS.filter((p) => p.recordsHeartbeats).map((p) => p.name),
    ["coordinator"],
  );
  assert.deepEqual(
    PARTS.filter((p) => !p.needs.database).map((p) => p.name),
    ["worker"],
  );
});

test("a part's command line, as a generated service unit would run it", () => {
  assert.deepEqual(partCommandLine(partDeclaration("listener"), "/etc/autoreduce/autoreduce.yaml"), [
    "listener",
    "--config",
    "/etc/autoreduce/autoreduce.yaml",
  ]);
});

test("every part of the registry has a start wired in the CLI", () => {
  for (const part of PARTS) assert.equal(typeof partStart(part.name), "function", part.name);
});
