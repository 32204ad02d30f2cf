import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { cli, makeDeployment } from "../helpers/deployment.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const scratch = tempDir();
after(() => scratch.cleanup());

for (const command of [
  "serve",
  "submit",
  "runs",
  "jobs",
  "status",
  "coordinator",
  "worker",
  "listener",
  "web",
  "token create",
  "token list",
  "dlq list",
  "dlq reinject",
]) {
  test(`autoreduce ${command} --help explains the command and exits 0`, async () => {
    const result = await cli([...command.split(" "), "--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, new RegExp(`Usage: autoreduce ${command}`));
    assert.match(result.stdout, /--config <file>/);
  });
}

test("autoreduce --help lists the commands", async () => {
  const result = await cli(["--help"]);
  assert.equal(result.code, 0);
  for (const command of ["serve", "submit", "runs", "jobs", "status", "worker"])
    assert.match(result.stdout, new RegExp(command));
});

test("an unknown option is bad usage: exit 2 with a message", async () => {
  const result = await cli(["runs", "--bogus"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown option '--bogus'/);
});

test("no configuration file: exit 2 saying what to do", async () => {
  const result = await cli(["runs", "--config", join(scratch.path, "missing.yaml")]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /missing\.yaml: invalid configuration[\s\S]*cannot read the file \(ENOENT\)/);
});

test("a wrong key or value in the config: exit 2 naming the file, the key and what was expected", async () => {
  const file = join(scratch.path, "bad.yaml");
  writeFileSync(file, "archive:\n  settle_secs: 3\nworker:\n  max_procs: many\n");
  const result = await cli(["status", "--config", file]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /bad\.yaml: invalid configuration/);
  assert.match(result.stderr, /archive: unknown key 'settle_secs'/);
  assert.match(result.stderr, /worker\.max_procs: expected number, received string/);
});

test("submit of a file outside the archive fails (exit 1) and sends nothing", async () => {
  const d = makeDeployment({ instruments: { TEST: {} } });
  try {
    const outside = join(d.dir, "elsewhere.nxs.h5");
    writeFileSync(outside, "x");
    const result = await cli([
      "submit",
      "--config",
      d.configFile,
      "--file",
      outside,
      "--instrument",
      "TEST",
      "--run",
      "3",
      "--experiment",
      "IPTS-1",
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /not sent: .*outside the archive roots/);
    const status = await cli(["status", "--config", d.configFile, "--json"]);
    assert.equal(JSON.parse(status.stdout).queues["/queue/POSTPROCESS.DATA_READY"], 0);
  } finally {
    d.cleanup();
  }
});
