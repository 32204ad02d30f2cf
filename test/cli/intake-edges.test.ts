import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { cli, makeDeployment } from "../helpers/deployment.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const scratch = tempDir();
after(() => scratch.cleanup());

for (const [option, value] of [
  ["--experiment", "../../../ESCAPED"],
  ["--instrument", "TEST/.."],
  ["--run", "3/../4"],
] as const) {
  test(`submit ${option} ${value}: exit 2 naming the option, nothing sent`, async () => {
    const d = makeDeployment({ instruments: { TEST: {} } });
    try {
      const file = join(d.archive, "TEST", "IPTS-1", "nexus", "TEST_3.nxs.h5");
      await d.writeRun("TEST", 3, "IPTS-1");
      const args = { "--instrument": "TEST", "--run": "3", "--experiment": "IPTS-1", [option]: value };
      const result = await cli([
        "submit",
        "--config",
        d.configFile,
        "--file",
        file,
        ...Object.entries(args).flat(),
      ]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`option '${option} <[a-z]+>' argument .* is invalid`));
      const status = await cli(["status", "--config", d.configFile, "--json"]);
      assert.equal(JSON.parse(status.stdout).queues["/queue/POSTPROCESS.DATA_READY"], 0);
      assert.equal(existsSync(join(d.dir, "ESCAPED")), false);
    } finally {
      d.cleanup();
    }
  });
}

test("a database url with an unsupported scheme: exit 2 naming database.url, no stack trace", async () => {
  const file = join(scratch.path, "mysql.yaml");
  writeFileSync(file, "database:\n  url: mysql://user:secret@db/autoreduce\n");
  const result = await cli(["runs", "--config", file]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /mysql\.yaml: invalid configuration/);
  assert.match(result.stderr, /database\.url: the scheme "mysql:" is not supported/);
  assert.doesNotMatch(result.stderr, /secret|\n\s+at /);
});

const junk: Array<[string, Buffer]> = [
  ["NUL bytes (YAML would read it as an empty comment)", Buffer.from([0x23, 0x00, 0x01, 0x02, 0x0a])],
  ["invalid UTF-8", Buffer.from([0x23, 0x20, 0xff, 0xfe, 0xc3, 0x28, 0x0a])],
  ["a YAML list, not a mapping", Buffer.from("- a\n- b\n")],
];
for (const [name, bytes] of junk) {
  test(`a config file with ${name} is refused: exit 2 with a message`, async () => {
    const file = join(scratch.path, "junk.yaml");
    writeFileSync(file, bytes);
    const result = await cli(["runs", "--config", file]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /junk\.yaml: invalid configuration\n\s+- (not a text file|the file must hold a mapping)/,
    );
  });
}
