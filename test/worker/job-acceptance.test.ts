import assert from "node:assert/strict";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Authenticity } from "../../src/messages/job-signature.ts";
import { authenticityRefusal, componentRefusal } from "../../src/worker/job-acceptance.ts";
import { dataFileRefusal, folderRefusal, isInside, realPathOf } from "../../src/worker/job-checks.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const INSIDE: Array<[string, string, boolean]> = [
  ["/data/archive", "/data/archive", true],
  ["/data/archive/EQSANS/x.h5", "/data/archive", true],
  ["/data/archive2/x.h5", "/data/archive", false],
  ["/data/arch", "/data/archive", false],
  ["/etc/passwd", "/", true],
  ["/etc/passwd", "/data/archive/", false],
  ["/data/archive/x", "/data/archive/", true],
];
for (const [path, root, expected] of INSIDE) {
  test(`${path} is ${expected ? "" : "not "}inside ${root}`, () =>
    assert.equal(isInside(path, root), expected));
}

const NAMES: Array<[string, boolean]> = [
  ["EQSANS", true],
  ["IPTS-1234", true],
  ["1920001", true],
  ["CG2", true],
  ["BL-16B", true],
  ["my_exp.v2", true],
  ["", false],
  [".", false],
  ["..", false],
  ["../etc", false],
  ["a/b", false],
  [".hidden", false],
  ["a b", false],
  ["a\0b", false],
  ["x".repeat(201), false],
];
for (const [name, safe] of NAMES) {
  test(`${JSON.stringify(name.slice(0, 20))} is ${safe ? "" : "not "}a safe path component`, () =>
    assert.equal(componentRefusal("instrument", name) === null, safe));
}

const AUTHENTICITY: Array<[Authenticity, boolean, boolean, RegExp | null]> = [
  ["unsigned", false, false, null],
  ["unsigned", true, false, /script text but no coordinator signature/],
  ["unsigned", false, true, /variables but no coordinator signature/],
  ["valid", true, true, null],
  ["valid", false, false, null],
  ["invalid", false, false, /does not verify/],
  ["invalid", true, true, /does not verify/],
];
for (const [authenticity, script, variables, expected] of AUTHENTICITY) {
  test(`a ${authenticity} job with${script ? "" : "out"} script and with${variables ? "" : "out"} variables is ${expected ? "refused" : "accepted"}`, () => {
    const refusal = authenticityRefusal(authenticity, { script, variables });
    if (expected) assert.match(String(refusal), expected);
    else assert.equal(refusal, null);
  });
}

test("paths are judged after links are resolved, also for folders not created yet", () => {
  const tmp = tempDir();
  try {
    const root = join(tmp.path, "out");
    mkdirSync(root);
    mkdirSync(join(tmp.path, "elsewhere"));
    symlinkSync(join(tmp.path, "elsewhere"), join(root, "link"));
    symlinkSync(root, join(tmp.path, "root-link"));
    assert.equal(
      realPathOf(join(root, "link", "new", "deeper")),
      join(tmp.path, "elsewhere", "new", "deeper"),
    );
    assert.match(
      String(folderRefusal(join(root, "link", "new"), [root])),
      /outside this worker's output roots/,
    );
    assert.equal(folderRefusal(join(root, "new", "deeper"), [root]), null);
    assert.equal(
      folderRefusal(join(root, "new"), [join(tmp.path, "root-link")]),
      null,
      "a root that is a link",
    );
    assert.match(String(folderRefusal("relative/out", [root])), /not an absolute path/);
    assert.match(String(dataFileRefusal(join(root, "..", "elsewhere", "x"), [root])), /outside/);
    assert.equal(dataFileRefusal(join(root, "not-yet.h5"), [root]), null, "a file may arrive later");
  } finally {
    tmp.cleanup();
  }
});
