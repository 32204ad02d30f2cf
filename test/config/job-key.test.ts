import assert from "node:assert/strict";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { readJobKey } from "../../src/config/job-key.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const configIn = (dir: string, file = "job.key") => ({
  data_dir: dir,
  security: { job_key_file: file },
  source: join(dir, "autoreduce.yaml"),
});

test("a missing key file is created with 64 hex digits, mode 0600, and read back the same", () => {
  const tmp = tempDir();
  try {
    const first = readJobKey(configIn(tmp.path, "keys/job.key"));
    assert.equal(first.generated, true);
    assert.equal(first.file, join(tmp.path, "keys", "job.key"));
    assert.equal(statSync(first.file).mode & 0o777, 0o600);
    assert.match(readFileSync(first.file, "utf8"), /^[0-9a-f]{64}\n$/);
    const again = readJobKey(configIn(tmp.path, "keys/job.key"));
    assert.equal(again.generated, false);
    assert.deepEqual(again.key, first.key);
  } finally {
    tmp.cleanup();
  }
});

test("a key file everyone may read is a configuration error naming the file and the fix", () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.path, "job.key");
    writeFileSync(file, `${"a".repeat(64)}\n`);
    chmodSync(file, 0o644);
    assert.throws(
      () => readJobKey(configIn(tmp.path)),
      (e: unknown) =>
        e instanceof ConfigError &&
        /security\.job_key_file: .*job\.key is readable by everyone \(mode 644\).*chmod 600/.test(
          e.problems.join("\n"),
        ),
    );
    chmodSync(file, 0o640);
    assert.equal(readJobKey(configIn(tmp.path)).key.length, 64, "group-readable is allowed");
  } finally {
    tmp.cleanup();
  }
});

test("a key shorter than 32 bytes is a configuration error that says how to make one", () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.path, "job.key");
    writeFileSync(file, "short-key\n", { mode: 0o600 });
    assert.throws(
      () => readJobKey(configIn(tmp.path)),
      (e: unknown) =>
        e instanceof ConfigError &&
        /holds 9 bytes.*at least 32.*openssl rand -hex 32/.test(e.problems.join("\n")),
    );
  } finally {
    tmp.cleanup();
  }
});
