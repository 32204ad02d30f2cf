import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
import { waitFor } from "../helpers/wait-for.ts";

const TEMPLATE = `# reduction script for CNCS, written from its template
import sys
e_min = \${e_min}
mask = "\${mask}"
do_tib = \${do_tib}
open(sys.argv[2] + "settings.txt", "w").write(f"{e_min} {mask} {do_tib}")
`;
const SLOW_VARS = "standard_vars = {'wait': 0.0, 'tag': 'a'}\nadvanced_vars = {}\n";
const SLOW = `import sys, time, reduce_vars
time.sleep(reduce_vars.standard_vars['wait'])
open(sys.argv[2] + "done-" + reduce_vars.standard_vars['tag'], "w").write("x")
`;

describe("script templates, cancelling, and script default changes (real processes)", () => {
  let d: Deployment;
  let serve: Daemon;
  const dir = (inst: string) => join(d.dir, "scripts", inst);

  before(async () => {
    d = makeDeployment({
      instruments: { CNCS: {}, SLOW: { output_dir: "{instrument}/{run}" } },
      worker: { max_procs: 1 },
    });
    mkdirSync(dir("CNCS"), { recursive: true });
    writeFileSync(join(dir("CNCS"), "reduce_CNCS.py.template"), TEMPLATE);
    d.writeScript("SLOW", SLOW);
    writeFileSync(join(dir("SLOW"), "reduce_vars.py"), SLOW_VARS);
    serve = await startServe(d.configFile);
  });
  after(async () => {
    await serve.stop();
    d.cleanup();
  });

  test("a template with placeholders becomes a working script, recorded with who asked", async () => {
    const sent = await cli([
      "create-script",
      "CNCS",
      "--config",
      d.configFile,
      "e_min=-2.5",
      "mask=1-7,122-128",
      "do_tib=True",
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    const script = join(dir("CNCS"), "reduce_CNCS.py");
    await waitFor(() => {
      try {
        return readFileSync(script, "utf8").includes("e_min = -2.5");
      } catch {
        return false;
      }
    }, "the script to be written");
    assert.match(readFileSync(script, "utf8"), /mask = "1-7,122-128"\ndo_tib = True/);
    assert.match(
      readFileSync(join(dir("CNCS"), "reduction_parameters.txt"), "utf8"),
      /Requested by \S+\t-2.5\t1-7,122-128\tTrue/,
    );
    await d.writeRun("CNCS", 1);
    const run = await waitForRun(
      d.configFile,
      (r) => r.run_number === 1 && r.status === "completed",
      "CNCS 1 completed",
    );
    assert.equal(readFileSync(join(run.output_dir ?? "", "settings.txt"), "utf8"), "-2.5 1-7,122-128 True");
  });

  test("a template request missing a value is refused by name and changes nothing", async () => {
    const script = join(dir("CNCS"), "reduce_CNCS.py");
    const before = readFileSync(script, "utf8");
    await cli(["create-script", "CNCS", "--config", d.configFile, "e_min=1"]);
    await waitFor(
      () => /Template arguments missing: \['mask', 'do_tib'\]/.test(serve.output()),
      "the refusal in the worker's log",
    );
    assert.equal(readFileSync(script, "utf8"), before);
  });

  test("cancelling a running reduction stops it and the run shows cancelled", async () => {
    assert.equal(
      (await cli(["vars", "set", "SLOW", "--config", d.configFile, "--from-run", "1", "wait=30", "tag=slow"]))
        .code,
      0,
    );
    await d.writeRun("SLOW", 1);
    await waitForRun(
      d.configFile,
      (r) => r.instrument === "SLOW" && r.status === "running",
      "SLOW 1 running",
    );
    const result = await cli(["cancel", "SLOW", "1", "--config", d.configFile]);
    assert.equal(result.code, 0, result.stderr);
    const run = await waitForRun(
      d.configFile,
      (r) => r.instrument === "SLOW" && r.status === "cancelled",
      "cancelled",
    );
    assert.match(run.message ?? "", /cancelled by/);
    // The worker is free again: the next run (its own set: no wait) completes.
    assert.equal(
      (await cli(["vars", "set", "SLOW", "--config", d.configFile, "--from-run", "2", "wait=0", "tag=fast"]))
        .code,
      0,
    );
    await d.writeRun("SLOW", 2);
    await waitForRun(
      d.configFile,
      (r) => r.instrument === "SLOW" && r.run_number === 2 && r.status === "completed",
      "SLOW 2",
      20_000,
    );
    const again = await cli(["cancel", "SLOW", "2", "--config", d.configFile]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /completed: nothing to cancel/);
  });

  test("changing reduce_vars.py makes a new default set; sets people made are kept; retroactive sets offer a re-run", async () => {
    writeFileSync(join(dir("SLOW"), "reduce_vars.py"), SLOW_VARS.replace("'a'", "'b'"));
    await d.writeRun("SLOW", 3);
    await waitForRun(
      d.configFile,
      (r) => r.instrument === "SLOW" && r.run_number === 3 && r.status === "completed",
      "SLOW 3",
    );
    const history = JSON.parse(
      (await cli(["vars", "history", "SLOW", "--config", d.configFile, "--json"])).stdout,
    ) as Array<{
      scope: string;
      source: string;
      values: { standard_vars: Record<string, unknown> };
    }>;
    const defaults = history.filter((s) => s.scope === "default");
    assert.deepEqual(
      defaults.map((s) => s.values.standard_vars.tag),
      ["a", "b"],
    );
    assert.equal(history.filter((s) => s.source === "person").length, 2, "people's sets untouched");
    const retro = await cli([
      "vars",
      "set",
      "SLOW",
      "--config",
      d.configFile,
      "--from-run",
      "3",
      "tag=retro",
    ]);
    assert.match(
      retro.stdout,
      /1 existing run\(s\) would now get these values[\s\S]*autoreduce rerun SLOW 3/,
    );
    const versions = (await runsJson(d.configFile, true)).filter((r) => r.instrument === "SLOW");
    assert.equal(versions.length, 3);
  });
});
