import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { newJobToken, tokenInEnviron, tokenOwner } from "../../src/executors/job-token.ts";

describe("job token", () => {
  const cases: [string, string, string | null][] = [
    ["the first entry", "AUTOREDUCE_JOB_TOKEN=1.2.ab\0PATH=/bin\0", "1.2.ab"],
    ["a middle entry", "HOME=/\0AUTOREDUCE_JOB_TOKEN=7.8.cd\0PATH=/bin\0", "7.8.cd"],
    ["the last entry without a final NUL", "HOME=/\0AUTOREDUCE_JOB_TOKEN=7.8.cd", "7.8.cd"],
    ["none", "HOME=/\0PATH=/bin\0", null],
    ["a name that only ends alike", "X_AUTOREDUCE_JOB_TOKEN=1.2.ab\0", null],
    ["a value that mentions it", "NOTE=AUTOREDUCE_JOB_TOKEN=1.2.ab\0", null],
    ["an empty environment", "", null],
  ];
  for (const [name, environ, expected] of cases) {
    test(`is found in an environment block: ${name}`, () => {
      assert.equal(tokenInEnviron(Buffer.from(environ, "latin1")), expected);
    });
  }

  test("names the process that started the job, by pid and start time", () => {
    assert.deepEqual(tokenOwner("123.456789.0a1b"), { pid: 123, startTime: 456789 });
    assert.equal(tokenOwner("not a token"), null);
    assert.equal(tokenOwner("1.2."), null);
    const own = tokenOwner(newJobToken());
    assert.equal(own?.pid, process.pid);
    assert.ok((own?.startTime ?? 0) > 0);
  });

  test("two jobs never share a token", () => {
    assert.notEqual(newJobToken(), newJobToken());
  });
});
