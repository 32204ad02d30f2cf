import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { configFromObject } from "../../src/config/load-config.ts";
import { LocalExecutor } from "../../src/executors/local-executor.ts";
import { scriptLimits } from "../../src/scripts/script-limits.ts";
import { prepareScriptRun } from "../../src/scripts/script-run.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const TIMEOUT = { timeout: 30_000 };
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("a script run prepared for any caller (not a reduction)", () => {
  const executor = new LocalExecutor();
  let scratch: ReturnType<typeof tempDir>;
  before(() => {
    scratch = tempDir();
  });
  after(async () => {
    await executor.close();
    scratch.cleanup();
  });

  test(
    "a plain watch-style step runs with its arguments, variables, built environment and limits",
    TIMEOUT,
    async () => {
      const out = join(scratch.path, "calib");
      mkdirSync(out);
      const script = join(scratch.path, "calibrate.sh");
      writeFileSync(
        script,
        [
          "#!/bin/sh",
          'echo "args=$*"',
          'echo "job=$AUTOREDUCE_JOB_ID inst=$AUTOREDUCE_INSTRUMENT out=$AUTOREDUCE_OUTPUT_DIR run=[$AUTOREDUCE_RUN_NUMBER]"',
          'echo "stage=$STAGE secret=[$AUTOREDUCE_STOMP_PASSWORD]"',
          'cat "$AUTOREDUCE_VARS_JSON"',
          'echo "tmp=$TMPDIR" > "$AUTOREDUCE_OUTPUT_DIR/tmpdir.txt"',
        ].join("\n"),
      );
      const config = configFromObject(
        {
          worker: { memory_limit: "2GiB", time_limit_minutes: 30 },
          instruments: { NOM: { stall_minutes: 5, log_limit: "1MiB" } },
        },
        "test",
        {},
      );
      const run = prepareScriptRun(config, {
        jobId: "watch-1",
        instrument: "nom",
        script: { path: script },
        invocation: { convention: "plain", args: ["--config", "/c/calib.yaml"] },
        variables: { standard_vars: { mode: "fast" }, advanced_vars: {} },
        outputDir: out,
        logFiles: { stdout: join(out, "step.log"), stderr: join(out, "step.err") },
        interpreter: "/bin/sh",
        env: { STAGE: "calibration" },
      });
      assert.deepEqual(run.spec.limits, scriptLimits(config, "NOM").limits);
      assert.equal(run.spec.limits?.stallSeconds, 300);
      assert.equal(run.spec.limits?.wallSeconds, 1800);
      assert.equal(run.spec.logLimitBytes, 1024 ** 2);
      assert.equal(run.spec.cwd, out);
      process.env.AUTOREDUCE_STOMP_PASSWORD = "secret";
      try {
        const handle = await executor.start(run.spec);
        const result = await handle.wait();
        assert.equal(result.exitCode, 0, readFileSync(join(out, "step.err"), "utf8"));
      } finally {
        delete process.env.AUTOREDUCE_STOMP_PASSWORD;
      }
      const log = readFileSync(join(out, "step.log"), "utf8");
      assert.match(log, /^args=--config \/c\/calib\.yaml$/m);
      assert.match(log, new RegExp(`^job=watch-1 inst=nom out=${out} run=\\[\\]$`, "m"));
      assert.match(log, /^stage=calibration secret=\[\]$/m);
      assert.match(log, /"mode": "fast"/);
      const tmp = readFileSync(join(out, "tmpdir.txt"), "utf8").trim().replace("tmp=", "");
      assert.equal(tmp, run.workspace.tmpDir);
      assert.ok(existsSync(tmp));
      run.cleanup();
      assert.ok(!existsSync(tmp), "cleanup removes the workspace");
    },
  );

  test("recorded text runs when the file no longer holds it; the file when it does", () => {
    const config = configFromObject({}, "test", {});
    const path = join(scratch.path, "reduce_X.py");
    writeFileSync(path, "print('now')\n");
    const base = {
      jobId: "j",
      instrument: "X",
      invocation: { convention: "sns" as const, dataFile: "/a/X_1.nxs.h5", outputDir: "/o" },
      outputDir: "/o",
      logFiles: { stdout: "/o/l", stderr: "/o/e" },
    };
    const changed = prepareScriptRun(config, {
      ...base,
      script: { path, text: "print('then')\n", hash: sha256("print('then')\n") },
    });
    const same = prepareScriptRun(config, {
      ...base,
      script: { path, text: "print('now')\n", hash: sha256("print('now')\n") },
    });
    try {
      assert.notEqual(changed.workspace.script, path);
      assert.equal(readFileSync(changed.workspace.script, "utf8"), "print('then')\n");
      assert.equal(same.workspace.script, path);
      assert.equal(changed.spec.command, "python3", "the configured interpreter by default");
      assert.equal(changed.spec.args.at(-1), "/o/");
    } finally {
      changed.cleanup();
      same.cleanup();
    }
  });
});
