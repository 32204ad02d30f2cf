import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { configFromObject, loadConfig } from "../../src/config/load-config.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const dir = tempDir();
after(() => dir.cleanup());

test("an empty config gives the embedded defaults with paths under the config's folder", () => {
  const file = join(dir.path, "empty.yaml");
  writeFileSync(file, "");
  const config = loadConfig(file, {});
  assert.equal(config.database.url, `sqlite:${join(dir.path, "autoreduce.db")}`);
  assert.equal(config.transport.kind, "embedded");
  assert.deepEqual(config.archive.roots, [join(dir.path, "archive")]);
  assert.equal(config.scripts.file, "reduce_{instrument}.py");
  assert.equal(config.queues.data_ready, "/queue/POSTPROCESS.DATA_READY");
  assert.equal(config.worker.max_procs, 4);
});

test("the database URL can come from the environment (secrets stay out of files)", () => {
  const config = configFromObject({}, "(test)", {
    AUTOREDUCE_DATABASE_URL: "postgres://u:secret@db:5432/ar",
  });
  assert.equal(config.database.url, "postgres://u:secret@db:5432/ar");
});

const bad: Array<[string, string, RegExp]> = [
  ["not YAML", "a: [1,\n", /not valid YAML/],
  ["a list at the top", "- 1\n", /mapping of keys/],
  ["an unknown top-level key", "workers: 3\n", /unknown key 'workers'/],
  ["a wrong type", "archive:\n  poll: sometimes\n", /archive\.poll: expected boolean/],
  ["a lower-case instrument", "instruments:\n  nom: {}\n", /instruments\.nom.*upper case/],
  [
    "an unknown instrument key",
    "instruments:\n  NOM:\n    scrpt: x\n",
    /instruments\.NOM: unknown key 'scrpt'/,
  ],
];
for (const [name, text, expected] of bad) {
  test(`a config with ${name} is refused naming the file and the key`, () => {
    const file = join(dir.path, "bad.yaml");
    writeFileSync(file, text);
    assert.throws(
      () => loadConfig(file, {}),
      (e: unknown) => e instanceof ConfigError && e.file === file && expected.test(e.message),
    );
  });
}
