import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { jobKeyPath } from "../../src/config/job-key.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { prepareDemo } from "../../src/demo/demo-setup.ts";
import { tempDir } from "../helpers/temp-dir.ts";

test("the demo has a job key of its own (mode 0600) that its config names, kept across restarts", () => {
  const tmp = tempDir();
  try {
    const { configFile } = prepareDemo(tmp.path, 0);
    const file = jobKeyPath(loadConfig(configFile, {}));
    assert.equal(file, join(tmp.path, "job.key"));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const key = readFileSync(file, "utf8");
    assert.match(key, /^[0-9a-f]{64}\n$/);
    prepareDemo(tmp.path, 0);
    assert.equal(readFileSync(file, "utf8"), key, "the same key after a restart");
  } finally {
    tmp.cleanup();
  }
});
