import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ExecutionLimits, ExecutionSpec } from "../../src/executors/executor.ts";
import { ExecutionStartError } from "../../src/executors/executor.ts";
import { LocalExecutor } from "../../src/executors/local-executor.ts";
import { outputFilesSince } from "../../src/executors/output-listing.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { TIME_SCALE, waitFor } from "../helpers/wait-for.ts";
import { LAUNCHERS } from "./launchers.ts";

const MIB = 1024 ** 2;
const NO_LIMITS: ExecutionLimits = {
  memoryBytes: null,
  wallSeconds: null,
  stallSeconds: null,
  checkIntervalMs: 100,
};
// Stretched like every deadline (wait-for.ts): under a load of 15 on 2 cores, two Python starts
// and their 140 MB of writes once took over 10 s.
const TIMEOUT = { timeout: 10_000 * TIME_SCALE };

/** State and process group of a live process, read straight from /proc (independently of the executor's parser). */
function liveStat(pid: number): { state: string; pgid: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const [state = "", , pgid = ""] = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return state === "Z" || state === "X" ? null : { state, pgid: Number(pgid) };
}

/** Live processes of process group `pgid`. */
function groupMembers(pgid: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => liveStat(pid)?.pgid === pgid);
}

/** Fails if anything of a job's tree is alive: its process group, or one of `others` (pid in its own group). */
function assertTreeGone(rootPid: number, others: { pid: number; pgid: number }[] = []): void {
  assert.deepEqual(groupMembers(rootPid), [], `processes of group ${rootPid} remain`);
  for (const { pid, pgid } of others) {
    assert.notEqual(liveStat(pid)?.pgid, pgid, `process ${pid} (group ${pgid}) remains`);
  }
}

function readPid(dir: string, name: string): number {
  return Number(readFileSync(join(dir, name), "utf8").trim());
}

function lastLine(path: string): string {
  return readFileSync(path, "utf8").trimEnd().split("\n").at(-1) ?? "";
}

for (const launcher of LAUNCHERS)
  describe(`local executor: supervision of real process trees (${launcher} launcher)`, () => {
    const executor = new LocalExecutor({ launcher });
    let scratch: ReturnType<typeof tempDir>;
    let n = 0;

    /** A bash script run in a fresh folder, with small limits checked every 100 ms. */
    function bashJob(
      script: string,
      limits: Partial<ExecutionLimits> = {},
    ): { spec: ExecutionSpec; dir: string } {
      const dir = join(scratch.path, `job-${++n}`);
      mkdirSync(dir);
      const spec: ExecutionSpec = {
        command: "bash",
        args: ["-c", script],
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        stdoutFile: join(scratch.path, `job-${n}.out`),
        stderrFile: join(scratch.path, `job-${n}.err`),
        tailLines: 20,
        limits: { ...NO_LIMITS, ...limits },
      };
      return { spec, dir };
    }

    before(() => {
      scratch = tempDir("autoreduce-executor-");
    });
    after(async () => {
      await executor.close();
      scratch.cleanup();
    });

    test("the executor says it is local", () => {
      assert.equal(executor.kind, "local");
    });

    test("a tree whose processes together exceed the memory limit is killed", TIMEOUT, async () => {
      // Each child holds ~75 MiB, under the 100 MiB limit alone; only the sum of the tree exceeds it.
      const hold = `python3 -c 'import time; x = b"a" * (70 << 20); time.sleep(30)'`;
      const { spec, dir } = bashJob(`${hold} & echo $! > a; ${hold} & echo $! > b; wait`, {
        memoryBytes: 100 * MIB,
      });
      const handle = await executor.start(spec);
      const result = await handle.wait();
      assert.match(result.killReason ?? "", /^memory \d+\.\d+ MiB > limit 100\.0 MiB$/);
      assert.equal(result.cancelReason, null);
      assert.equal(lastLine(spec.stderrFile), `killed: ${result.killReason}`);
      assert.equal(result.stderrTail.at(-1), `killed: ${result.killReason}`);
      assert.ok((result.usage.peakMemoryBytes ?? 0) > 100 * MIB);
      const root = Number(handle.id);
      assertTreeGone(root, [
        { pid: readPid(dir, "a"), pgid: root },
        { pid: readPid(dir, "b"), pgid: root },
      ]);
    });

    test("a tree running past the wall-time limit is killed", TIMEOUT, async () => {
      const { spec } = bashJob("sleep 30 & sleep 30", { wallSeconds: 0.3 });
      const handle = await executor.start(spec);
      const result = await handle.wait();
      assert.match(result.killReason ?? "", /^wall time \d+\.\d+ s > limit 0\.30* s$/);
      assert.equal(lastLine(spec.stderrFile), `killed: ${result.killReason}`);
      assert.ok(result.finishedAt.getTime() - result.startedAt.getTime() < 4000);
      assertTreeGone(Number(handle.id));
    });

    test(
      "a script that prints once and then stays silent is killed by the stall limit",
      TIMEOUT,
      async () => {
        const { spec } = bashJob("echo started; sleep 30", { stallSeconds: 0.3 });
        const handle = await executor.start(spec);
        const result = await handle.wait();
        assert.match(result.killReason ?? "", /^no output for \d+\.\d+ s > limit 0\.30* s$/);
        assert.deepEqual(result.stdoutTail, ["started"]);
        assert.equal(lastLine(spec.stderrFile), `killed: ${result.killReason}`);
        assertTreeGone(Number(handle.id));
      },
    );

    test("a script that keeps printing, on either stream, outlives the stall limit", TIMEOUT, async () => {
      const { spec } = bashJob(
        "for i in $(seq 1 12); do if ((i % 2)); then echo $i; else echo $i >&2; fi; sleep 0.1; done",
        { stallSeconds: 0.5 },
      );
      const handle = await executor.start(spec);
      const result = await handle.wait();
      assert.equal(result.killReason, null);
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdoutTail.at(-1), "11");
      assert.equal(result.stderrTail.at(-1), "12");
      assert.ok(result.finishedAt.getTime() - result.startedAt.getTime() > 1000, "ran past the stall limit");
    });

    // The grandchild leaves the process group (setsid); its parent is a `sleep` whose pid is in `parent`.
    const ESCAPING = "(setsid sleep 30 & echo $! > grandchild; echo $BASHPID > parent; exec sleep 30) & wait";

    test("cancel ends the whole tree, including a grandchild that left the group", TIMEOUT, async () => {
      const { spec, dir } = bashJob(ESCAPING);
      const handle = await executor.start(spec);
      await waitFor(
        () => handle.usage().processes === 3,
        "the supervisor to see bash, the parent and the grandchild",
      );
      const grandchild = readPid(dir, "grandchild");
      assert.equal(liveStat(grandchild)?.pgid, grandchild, "the grandchild leads its own group");
      await handle.cancel("cancelled by test");
      const result = handle.poll();
      assert.equal(result?.cancelReason, "cancelled by test");
      assert.equal(result?.killReason, null);
      const root = Number(handle.id);
      assertTreeGone(root, [
        { pid: grandchild, pgid: grandchild },
        { pid: readPid(dir, "parent"), pgid: root },
      ]);
    });

    test(
      "a grandchild that left the group and lost its parent is killed when the script ends",
      TIMEOUT,
      async () => {
        const { spec, dir } = bashJob(ESCAPING);
        const handle = await executor.start(spec);
        await waitFor(
          () => handle.usage().processes === 3,
          "the supervisor to see bash, the parent and the grandchild",
        );
        const grandchild = readPid(dir, "grandchild");
        process.kill(readPid(dir, "parent"), "SIGKILL"); // the grandchild is re-parented; bash's `wait` returns
        const result = await handle.wait();
        assert.equal(result.exitCode, 0);
        assert.equal(result.cancelReason, null);
        assert.equal(result.killReason, null);
        assertTreeGone(Number(handle.id), [{ pid: grandchild, pgid: grandchild }]);
      },
    );

    test("a script that exits leaving a background process behind leaves no orphan", TIMEOUT, async () => {
      const { spec, dir } = bashJob("sleep 30 & echo $! > background; echo done");
      const handle = await executor.start(spec);
      const result = await handle.wait();
      assert.equal(result.exitCode, 0);
      assert.deepEqual(result.stdoutTail, ["done"]);
      const root = Number(handle.id);
      assertTreeGone(root, [{ pid: readPid(dir, "background"), pgid: root }]);
    });

    test(
      "usage reports the memory and CPU of a running job, and the result keeps them",
      TIMEOUT,
      async () => {
        const { spec } = bashJob("exec python3 -c 'import time; x = b\"a\" * (30 << 20); time.sleep(30)'");
        const handle = await executor.start(spec);
        assert.equal(handle.poll(), null);
        const usage = await waitFor(() => {
          const now = handle.usage();
          return (now.peakMemoryBytes ?? 0) > 30 * MIB ? now : null;
        }, "the supervisor to measure the job's memory");
        assert.equal(usage.processes, 1);
        assert.ok((usage.memoryBytes ?? 0) > 30 * MIB);
        assert.notEqual(usage.cpuSeconds, null);
        assert.equal(handle.poll(), null, "still running");
        await handle.cancel("enough");
        const result = handle.poll();
        assert.ok((result?.usage.peakMemoryBytes ?? 0) > 30 * MIB);
        assert.ok((result?.usage.cpuSeconds ?? -1) >= 0);
        assert.equal(result?.usage.processes, 0);
        assert.deepEqual(await handle.wait(), result);
      },
    );

    test("a program that cannot be started is an ExecutionStartError", async () => {
      const { spec } = bashJob("true");
      await assert.rejects(executor.start({ ...spec, command: "no-such-program-here" }), ExecutionStartError);
    });
  });

for (const launcher of LAUNCHERS)
  describe(`local executor: the launcher dies (${launcher} launcher)`, () => {
    test(
      "its running scripts are killed and reported ended; the next job gets a new launcher",
      TIMEOUT,
      async () => {
        const scratch = tempDir("autoreduce-launcher-");
        const executor = new LocalExecutor({ launcher });
        try {
          const spec: ExecutionSpec = {
            command: "bash",
            args: ["-c", "sleep 30 & echo $! > background; wait"],
            cwd: scratch.path,
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
            stdoutFile: join(scratch.path, "out"),
            stderrFile: join(scratch.path, "err"),
            tailLines: 5,
          };
          const handle = await executor.start(spec);
          const root = Number(handle.id);
          await waitFor(
            () => existsSync(join(scratch.path, "background")),
            "the background process to start",
          );
          const launcher = Number(readFileSync(`/proc/${root}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
          process.kill(launcher, "SIGKILL");
          const result = await handle.wait();
          assert.equal(result.signal, "SIGKILL");
          assertTreeGone(root, [{ pid: readPid(scratch.path, "background"), pgid: root }]);
          const next = await executor.start({ ...spec, args: ["-c", "echo again"] });
          assert.deepEqual((await next.wait()).stdoutTail, ["again"]);
        } finally {
          await executor.close();
          scratch.cleanup();
        }
      },
    );
  });

describe("output listing", () => {
  test("folders named to skip directly under the output folder are not listed", () => {
    const scratch = tempDir("autoreduce-listing-");
    try {
      const since = new Date();
      for (const folder of ["reduction_log", ".autoreduce", "sub"]) {
        mkdirSync(join(scratch.path, folder));
        writeFileSync(join(scratch.path, folder, "f"), "x");
      }
      writeFileSync(join(scratch.path, "top.nxs"), "x");
      assert.deepEqual(outputFilesSince(scratch.path, since, [".autoreduce"]), [
        join(scratch.path, "sub", "f"),
        join(scratch.path, "top.nxs"),
      ]);
    } finally {
      scratch.cleanup();
    }
  });
});
