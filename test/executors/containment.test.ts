import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { ExecutionSpec } from "../../src/executors/executor.ts";
import { JOB_TOKEN_VARIABLE, newJobToken, sweepOrphans } from "../../src/executors/job-token.ts";
import { LocalExecutor } from "../../src/executors/local-executor.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { LAUNCHERS } from "./launchers.ts";

const TIMEOUT = { timeout: 30_000 };
const HOST = new URL("../fixtures/executors/executor-host.ts", import.meta.url).pathname;

/**
 * Live processes whose environment holds `TEST_MARKER=<marker>`: the test's own mark, read
 * straight from /proc, so that these tests do not depend on the executor's token.
 */
function marked(marker: string): number[] {
  const entry = `TEST_MARKER=${marker}`;
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        if (/^\S+ \(.*\) [ZX] /s.test(stat)) return false;
        return readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(entry);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Shell: wait until the detached daemon has written its pid (it has left the session by then). */
const UNTIL_DAEMON = "until [ -s daemon ]; do sleep 0.01; done";

/** State letter of a live process, or null if it is gone or a zombie. */
function liveStat(pid: number): string | null {
  try {
    const state = /^\S+ \(.*\) (\S) /s.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1] ?? null;
    return state === "Z" || state === "X" ? null : state;
  } catch {
    return null;
  }
}

const newMarker = () => randomBytes(8).toString("hex");

/** Kills what a failed test left behind, so that it does not outlive the test run. */
function cleanUp(marker: string): void {
  for (const pid of marked(marker)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

for (const launcher of LAUNCHERS)
  describe(`local executor: nothing of a job outlives it (${launcher} launcher)`, () => {
    test("a setsid grandchild dies when its worker is killed with SIGKILL", TIMEOUT, async () => {
      const scratch = tempDir("autoreduce-contain-");
      const marker = newMarker();
      // The grandchild leaves the script's process group; the script then waits.
      const script = "setsid sleep 300 & echo $! > grandchild; touch ready; wait";
      const host = spawn(
        process.execPath,
        ["--import", "tsx", HOST, scratch.path, marker, script, launcher],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      try {
        let out = "";
        host.stdout.on("data", (chunk) => {
          out += String(chunk);
        });
        await waitFor(() => out.includes("started"), "the job to start", 20_000);
        const grandchild = Number(readFileSync(join(scratch.path, "grandchild"), "utf8"));
        assert.ok(marked(marker).includes(grandchild), "the grandchild runs");
        host.kill("SIGKILL");
        await waitFor(() => marked(marker).length === 0, "every process of the job to be gone", 15_000);
      } finally {
        host.kill("SIGKILL");
        cleanUp(marker);
        scratch.cleanup();
      }
    });

    test("a process that detaches at once (double fork + setsid) dies with its job", TIMEOUT, async () => {
      const scratch = tempDir("autoreduce-contain-");
      const marker = newMarker();
      const executor = new LocalExecutor({ launcher });
      try {
        const spec: ExecutionSpec = {
          command: "bash",
          // The subshell forks the daemon and exits at once; the daemon is re-parented, in its own
          // session (it writes its pid once there), before any scan of the supervisor can see it.
          args: [
            "-c",
            `(setsid bash -c 'echo $$ > daemon; exec sleep 300' > /dev/null 2>&1 &); ${UNTIL_DAEMON}`,
          ],
          cwd: scratch.path,
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TEST_MARKER: marker },
          stdoutFile: join(scratch.path, "out"),
          stderrFile: join(scratch.path, "err"),
          tailLines: 5,
          limits: { memoryBytes: null, wallSeconds: null, stallSeconds: null, checkIntervalMs: 60_000 },
        };
        const result = await (await executor.start(spec)).wait();
        assert.equal(result.exitCode, 0);
        await waitFor(() => marked(marker).length === 0, "the detached process to be gone", 10_000);
      } finally {
        await executor.close();
        cleanUp(marker);
        scratch.cleanup();
      }
    });

    test("a cancelled job leaves nothing behind, however its processes detached", TIMEOUT, async () => {
      const scratch = tempDir("autoreduce-contain-");
      const marker = newMarker();
      const executor = new LocalExecutor({ launcher });
      try {
        const handle = await executor.start({
          command: "bash",
          args: [
            "-c",
            `(setsid bash -c 'echo $$ > daemon; exec sleep 300' > /dev/null 2>&1 &); ${UNTIL_DAEMON}; sleep 300`,
          ],
          cwd: scratch.path,
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TEST_MARKER: marker },
          stdoutFile: join(scratch.path, "out"),
          stderrFile: join(scratch.path, "err"),
          tailLines: 5,
          limits: { memoryBytes: null, wallSeconds: null, stallSeconds: null, checkIntervalMs: 60_000 },
        });
        await waitFor(() => marked(marker).length >= 2, "the job and its daemon to run");
        await handle.cancel("test");
        assert.deepEqual(marked(marker), []);
      } finally {
        await executor.close();
        cleanUp(marker);
        scratch.cleanup();
      }
    });

    test(
      "the orphan sweep (run when an executor is made) kills only jobs whose worker is gone",
      TIMEOUT,
      async () => {
        const scratch = tempDir("autoreduce-contain-");
        const marker = newMarker();
        try {
          // An orphan as a worker killed together with its launcher leaves it: its token names an
          // owner that is not alive. Both `sleep`s run detached.
          const deadOwner = newJobToken().replace(/^\d+\.\d+\./, "999999999.1.");
          const live = newJobToken();
          const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TEST_MARKER: marker };
          const [orphan = 0, kept = 0] = [deadOwner, live].map(
            (token) =>
              spawn("sleep", ["300"], {
                env: { ...env, [JOB_TOKEN_VARIABLE]: token },
                detached: true,
                stdio: "ignore",
              }).pid ?? 0,
          );
          // Both have exec'd (their environment holds the mark) — or, for the orphan, another
          // executor's sweep (a test running alongside) has killed it already.
          await waitFor(() => {
            const now = marked(marker);
            return now.includes(kept) && (now.includes(orphan) || liveStat(orphan) === null);
          }, "both processes to run");
          await sweepOrphans();
          assert.equal(liveStat(orphan), null, "the orphan is gone");
          assert.deepEqual(marked(marker), [kept], "the process whose owner lives is left alone");
        } finally {
          cleanUp(marker);
          scratch.cleanup();
        }
      },
    );
  });

for (const launcher of LAUNCHERS)
  describe(`local executor: processes that detached are measured with their job (${launcher} launcher)`, () => {
    test(
      "memory of a process that left the tree at once counts toward the job's memory limit",
      TIMEOUT,
      async () => {
        const scratch = tempDir("autoreduce-contain-");
        const marker = newMarker();
        const executor = new LocalExecutor({ launcher });
        try {
          // The daemon detaches (double fork + setsid) before it allocates 200 MB; the root stays small.
          const daemon = `import time; x = bytearray(200 * 1024 * 1024); open("big", "w").close(); time.sleep(300)`;
          const handle = await executor.start({
            command: "bash",
            args: ["-c", `(setsid python3 -c '${daemon}' > /dev/null 2>&1 &); sleep 300`],
            cwd: scratch.path,
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TEST_MARKER: marker },
            stdoutFile: join(scratch.path, "out"),
            stderrFile: join(scratch.path, "err"),
            tailLines: 5,
            limits: {
              memoryBytes: 100 * 1024 * 1024,
              wallSeconds: 20,
              stallSeconds: null,
              checkIntervalMs: 100,
            },
          });
          const result = await handle.wait();
          assert.match(result.killReason ?? "", /^memory /);
          assert.deepEqual(marked(marker), []);
        } finally {
          await executor.close();
          cleanUp(marker);
          scratch.cleanup();
        }
      },
    );
  });

describe("local executor: the Python launcher as a child subreaper", () => {
  const specIn = (dir: string, marker: string, script: string): ExecutionSpec => ({
    command: "bash",
    args: ["-c", script],
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TEST_MARKER: marker },
    stdoutFile: join(dir, "out"),
    stderrFile: join(dir, "err"),
    tailLines: 5,
    limits: { memoryBytes: null, wallSeconds: null, stallSeconds: null, checkIntervalMs: 60_000 },
  });

  test(
    "a process that detached from its job is re-parented to the launcher, not to init",
    TIMEOUT,
    async () => {
      const scratch = tempDir("autoreduce-contain-");
      const marker = newMarker();
      const executor = new LocalExecutor({ launcher: "python" });
      try {
        // The root's parent is the launcher; the daemon's parent, once the subshell that forked it
        // has exited, is whoever adopted it (waited for, up to 5 s).
        const script = [
          "echo $PPID > launcher",
          `(setsid bash -c 'echo $$ > daemon; exec sleep 300' > /dev/null 2>&1 &); ${UNTIL_DAEMON}`,
          "d=$(cat daemon)",
          `for i in $(seq 500); do p=$(cut -d' ' -f4 /proc/$d/stat); [ "$p" = "$PPID" ] && break; sleep 0.01; done`,
          "echo $p > adopter",
        ].join("\n");
        const result = await (await executor.start(specIn(scratch.path, marker, script))).wait();
        assert.equal(result.exitCode, 0, readFileSync(join(scratch.path, "err"), "utf8"));
        const read = (name: string) => readFileSync(join(scratch.path, name), "utf8").trim();
        assert.equal(read("adopter"), read("launcher"));
        await waitFor(() => marked(marker).length === 0, "the detached process to be gone", 10_000);
      } finally {
        await executor.close();
        cleanUp(marker);
        scratch.cleanup();
      }
    },
  );

  test(
    "a holder of the job's token outside the launcher's tree is still killed after the job",
    TIMEOUT,
    async () => {
      const scratch = tempDir("autoreduce-contain-");
      const marker = newMarker();
      const executor = new LocalExecutor({ launcher: "python" });
      try {
        const script = `echo $${JOB_TOKEN_VARIABLE} > token; until [ -e go ]; do sleep 0.01; done`;
        const handle = await executor.start(specIn(scratch.path, marker, script));
        await waitFor(
          () => readFileSync(join(scratch.path, "token"), { flag: "a+" }).length > 0,
          "the token",
          10_000,
        );
        const token = readFileSync(join(scratch.path, "token"), "utf8").trim();
        // Started by this test, not under the launcher: only a scan of every process finds it.
        const stranger = spawn("sleep", ["300"], {
          env: { ...process.env, TEST_MARKER: marker, [JOB_TOKEN_VARIABLE]: token },
          stdio: "ignore",
        });
        await waitFor(() => marked(marker).includes(stranger.pid ?? -1), "the stranger to run", 10_000);
        writeFileSync(join(scratch.path, "go"), "");
        assert.equal((await handle.wait()).exitCode, 0);
        await waitFor(
          () => stranger.exitCode !== null || stranger.signalCode !== null,
          "the stranger killed",
          10_000,
        );
        assert.equal(stranger.signalCode, "SIGKILL");
      } finally {
        await executor.close();
        cleanUp(marker);
        scratch.cleanup();
      }
    },
  );
});
