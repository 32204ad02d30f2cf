import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  cli,
  type Daemon,
  type Deployment,
  makeDeployment,
  runsJson,
  startServe,
  waitForRun,
} from "../helpers/deployment.ts";

// ISIS convention: main(input_file, output_dir) reads the injected variables and writes them out.
const REDUCE = `import json, os
import reduce_vars as web_var

def main(input_file, output_dir):
    values = {"standard": web_var.standard_vars, "advanced": web_var.advanced_vars, "script": "v1"}
    with open(os.path.join(output_dir, "values.json"), "w") as f:
        json.dump(values, f, ensure_ascii=True)
    print("reduced", input_file)
`;
const REDUCE_VARS = `standard_vars = {
    'Minimum Extents': [-1.0, 2.5],
    'label': 'plain',
    'bins': 100,
}
advanced_vars = {'smooth': False}
variable_help = {'standard_vars': {'bins': 'number of bins'}, 'advanced_vars': {}}
`;
const TRICKY = "'); import os; os.system('touch PWNED') #\n\"\"\" \\ é 😀";

describe("scripts, variables and re-runs (ISIS convention, real python3, real processes)", () => {
  let d: Deployment;
  let serve: Daemon;
  const scriptDir = () => join(d.dir, "scripts", "MARI");
  const values = (dir: string | null) => JSON.parse(readFileSync(join(dir ?? "", "values.json"), "utf8"));
  const run = (n: number) => d.writeRun("MARI", n, "1234567");
  const completed = (n: number, version = 0) =>
    waitForRun(
      d.configFile,
      (r) => r.run_number === n && r.version === version && r.status === "completed",
      `run ${n} v${version} completed`,
    );

  before(async () => {
    d = makeDeployment({
      instruments: {
        MARI: {
          convention: "isis",
          versioned_output: true,
          output_dir: "{instrument}/RB{experiment}/autoreduced/{run}",
        },
      },
    });
    mkdirSync(scriptDir(), { recursive: true });
    writeFileSync(join(scriptDir(), "reduce.py"), REDUCE);
    writeFileSync(join(scriptDir(), "reduce_vars.py"), REDUCE_VARS);
    serve = await startServe(d.configFile);
  });
  after(async () => {
    await serve.stop();
    d.cleanup();
  });

  test("a run is reduced with the script's defaults, typed as in reduce_vars.py, and the snapshot is stored", async () => {
    await run(1);
    const r = await completed(1);
    const got = values(r.output_dir);
    assert.deepEqual(got.standard, { "Minimum Extents": [-1.0, 2.5], label: "plain", bins: 100 });
    assert.match(r.output_dir ?? "", /MARI\/RB1234567\/autoreduced\/1\/run-version-0$/);
    assert.match(r.script_hash ?? "", /^[0-9a-f]{64}$/);
    assert.deepEqual((r.variables as { standard_vars: unknown }).standard_vars, got.standard);
  });

  test("a set from run N on applies to new runs; a value that is code arrives as data, executing nothing", async () => {
    const set = await cli([
      "vars",
      "set",
      "MARI",
      "--config",
      d.configFile,
      "--from-run",
      "2",
      `label=${TRICKY}`,
      "bins=250",
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /saved variable set \d+ \(runs from 2 on\)/);
    await run(2);
    const got = values((await completed(2)).output_dir);
    assert.equal(got.standard.label, TRICKY);
    assert.equal(got.standard.bins, 250);
    assert.equal(existsSync(join(d.dir, "PWNED")), false);
    const refused = await cli([
      "vars",
      "set",
      "MARI",
      "--config",
      d.configFile,
      "--from-run",
      "3",
      "bins=many",
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /bins: expected an integer/);
  });

  test("a re-run with a changed variable is version N+1 with its own values and folder; version N is intact", async () => {
    const result = await cli([
      "rerun",
      "MARI",
      "1",
      "--config",
      d.configFile,
      "--var",
      "bins=7",
      "--description",
      "finer",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const v1 = await completed(1, 1);
    const versions = (await runsJson(d.configFile, true)).filter((r) => r.run_number === 1);
    const v0 = versions.find((v) => v.version === 0);
    assert.equal(values(v1.output_dir).standard.bins, 7);
    assert.equal(values(v0?.output_dir ?? null).standard.bins, 100, "version 0's output is untouched");
    assert.equal(v0?.status, "completed");
    assert.equal(v1.reason, "rerun");
    assert.equal(v1.description, "finer");
  });

  test("a re-run uses the stored script text after the file changed, unless --current-script", async () => {
    writeFileSync(join(scriptDir(), "reduce.py"), REDUCE.replace('"script": "v1"', '"script": "v2"'));
    assert.equal((await cli(["rerun", "MARI", "2", "--config", d.configFile])).code, 0);
    assert.equal(values((await completed(2, 1)).output_dir).script, "v1");
    assert.equal((await cli(["rerun", "MARI", "2", "--config", d.configFile, "--current-script"])).code, 0);
    assert.equal(values((await completed(2, 2)).output_dir).script, "v2");
  });

  test("a batch re-run respects the role's cap and reports what it queued", async () => {
    const tooMany = await cli([
      "rerun",
      "MARI",
      "1-25",
      "--config",
      d.configFile,
      "--role",
      "user",
      "--dry-run",
    ]);
    assert.equal(tooMany.code, 1);
    assert.match(tooMany.stderr, /more than the limit of 20/);
    const preview = await cli(["rerun", "MARI", "1-2,9", "--config", d.configFile, "--dry-run"]);
    assert.match(preview.stdout, /would queue 2 run\(s\): 1, 2/);
    assert.match(preview.stdout, /not 9: never reduced/);
  });

  test("a paused instrument records runs as skipped; a re-run reduces them later", async () => {
    assert.equal((await cli(["instrument", "pause", "MARI", "--config", d.configFile])).code, 0);
    await run(5);
    await waitForRun(d.configFile, (r) => r.run_number === 5 && r.status === "skipped", "run 5 skipped");
    assert.equal((await cli(["instrument", "resume", "MARI", "--config", d.configFile])).code, 0);
    assert.equal((await cli(["rerun", "MARI", "5", "--config", d.configFile])).code, 0);
    await completed(5, 1);
  });
});
