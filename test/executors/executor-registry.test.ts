import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { configFromObject } from "../../src/config/load-config.ts";
import {
  createExecutor,
  executorKinds,
  UnknownExecutorError,
} from "../../src/executors/executor-registry.ts";
import { LocalExecutor } from "../../src/executors/local-executor.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

describe("executor registry", () => {
  test("`local` is the only executor, and the default", async () => {
    assert.deepEqual(executorKinds(), ["local"]);
    const executor = createExecutor("local");
    assert.equal(executor.kind, "local");
    await executor.close();
  });

  test("an unknown name is refused, naming the ones that exist", () => {
    assert.throws(() => createExecutor("slurm"), UnknownExecutorError);
    assert.throws(() => createExecutor("toString"), /unknown executor: toString \(known: local\)/);
  });

  test("worker.executor names one; an unknown one is a configuration error", () => {
    assert.equal(configFromObject({}, "test").worker.executor, "local");
    assert.throws(
      () => configFromObject({ worker: { executor: "slurm" } }, "test"),
      /worker\.executor: unknown executor: slurm \(known: local\)/,
    );
  });

  test("worker.log_limit is a size, 64 MiB by default; a percentage is refused", () => {
    assert.equal(configFromObject({}, "test").worker.log_limit, "64MiB");
    assert.throws(
      () => configFromObject({ worker: { log_limit: "10%" } }, "test"),
      /worker\.log_limit: not a size/,
    );
    assert.equal(
      configFromObject({ instruments: { X: { log_limit: null } } }, "test").instruments.X?.log_limit,
      null,
    );
  });
});

describe("local executor: attach", () => {
  test("a job cannot be picked up after its worker: attach kills what is left and finds nothing", {
    timeout: 20_000,
  }, async () => {
    const scratch = tempDir("autoreduce-attach-");
    const first = new LocalExecutor();
    const second = new LocalExecutor();
    try {
      const handle = await first.start({
        command: "bash",
        args: ["-c", "touch ready; sleep 300"],
        cwd: scratch.path,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        stdoutFile: join(scratch.path, "out"),
        stderrFile: join(scratch.path, "err"),
        tailLines: 5,
      });
      await waitFor(() => existsSync(join(scratch.path, "ready")), "the job to run");
      assert.match(handle.externalId, /^\d+@\d+$/);
      const spec = {
        command: "x",
        args: [],
        cwd: scratch.path,
        env: {},
        stdoutFile: "",
        stderrFile: "",
        tailLines: 1,
      };
      assert.equal(await second.attach("not an id", spec), null);
      assert.equal(await second.attach(handle.externalId, spec), null);
      const result = await handle.wait();
      assert.equal(result.signal, "SIGKILL");
      assert.equal(await second.attach(handle.externalId, spec), null);
    } finally {
      await first.close();
      await second.close();
      scratch.cleanup();
    }
  });
});
