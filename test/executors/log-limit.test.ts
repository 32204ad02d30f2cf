import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CappedLog } from "../../src/executors/capped-log.mjs";
import { LocalExecutor } from "../../src/executors/local-executor.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { LAUNCHERS } from "./launchers.ts";

const KIB = 1024;
const CUT_LINE =
  /^\[autoreduce: (\d+) bytes cut here: the log is limited to (\d+) bytes, head and tail kept\]$/m;

/** Writes `lines` numbered lines to a CappedLog in chunks of `chunk` bytes; returns the file's text. */
function capped(lines: number, limit: number, chunk: number): { text: string; log: CappedLog } {
  const scratch = tempDir("autoreduce-capped-");
  try {
    const file = join(scratch.path, "x.log");
    const log = new CappedLog(file, limit);
    const all = Buffer.from(Array.from({ length: lines }, (_, i) => `line ${i}\n`).join(""));
    for (let at = 0; at < all.length; at += chunk) log.write(all.subarray(at, at + chunk));
    log.close();
    return { text: readFileSync(file, "utf8"), log };
  } finally {
    scratch.cleanup();
  }
}

describe("capped log", () => {
  for (const chunk of [1, 7, 100, 10_000]) {
    test(`output within the limit is kept whole (chunks of ${chunk} bytes)`, () => {
      const { text, log } = capped(10, 1000, chunk);
      assert.equal(text, Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join(""));
      assert.equal(log.cutBytes, 0);
    });

    test(`output past the limit keeps its first and last lines around one cut line (chunks of ${chunk} bytes)`, () => {
      const { text, log } = capped(2000, 400, chunk);
      const lines = text.trimEnd().split("\n");
      assert.equal(lines[0], "line 0");
      assert.equal(lines.at(-1), "line 1999");
      const cut = CUT_LINE.exec(text);
      assert.ok(cut, text);
      // Every byte written is either kept or counted as cut: what is not kept is the cut line
      // with its newline, and one more when it had to end the head's last line.
      assert.equal(Number(cut[1]), log.cutBytes);
      const extra = Buffer.byteLength(text) - (log.total - log.cutBytes) - Buffer.byteLength(cut[0]);
      assert.ok(extra === 1 || extra === 2, `${extra}`);
      // The tail starts at a whole line and runs on to the end without a gap.
      const after = lines.slice(lines.findIndex((l) => CUT_LINE.test(l)) + 1).map((l) => Number(l.slice(5)));
      assert.deepEqual(
        after,
        after.map((_, i) => 2000 - after.length + i),
      );
      assert.ok(Buffer.byteLength(text) <= 400 + cut[0].length + 2);
    });
  }
});

for (const launcher of LAUNCHERS)
  describe(`local executor: log limit (${launcher} launcher)`, () => {
    test("a script printing 5 MB under a 64 KiB limit completes with a log of about 64 KiB that says what was cut", {
      timeout: 30_000,
    }, async () => {
      const scratch = tempDir("autoreduce-loglimit-");
      const executor = new LocalExecutor({ launcher });
      try {
        const stdoutFile = join(scratch.path, "run.log");
        const stderrFile = join(scratch.path, "run.err");
        const handle = await executor.start({
          command: "bash",
          // 5 MB of numbered lines on stdout, a little on stderr, then a last line on each.
          args: ["-c", "seq 1 700000 | sed 's/^/out /'; echo warn >&2; echo the end; echo err end >&2"],
          cwd: scratch.path,
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
          stdoutFile,
          stderrFile,
          tailLines: 3,
          logLimitBytes: 64 * KIB,
        });
        const result = await handle.wait();
        assert.equal(result.exitCode, 0);
        assert.ok(statSync(stdoutFile).size < 64 * KIB + 200, `log is ${statSync(stdoutFile).size} bytes`);
        const log = readFileSync(stdoutFile, "utf8");
        assert.ok(log.startsWith("out 1\nout 2\n"));
        const cut = CUT_LINE.exec(log);
        assert.ok(cut, "a line says where bytes were cut");
        assert.ok(Number(cut[1]) > 4_900_000);
        assert.deepEqual(result.stdoutTail.slice(-2), ["out 700000", "the end"]);
        assert.equal(result.logCuts.length, 1);
        assert.equal(result.logCuts[0]?.stream, "stdout");
        assert.equal(result.logCuts[0]?.cutBytes, Number(cut[1]));
        assert.equal(readFileSync(stderrFile, "utf8"), "warn\nerr end\n");
        assert.equal(result.infrastructureProblem, null);
      } finally {
        await executor.close();
        scratch.cleanup();
      }
    });
  });

test("both launchers write the same capped log, byte for byte, for the same output", {
  timeout: 30_000,
}, async () => {
  const scratch = tempDir("autoreduce-loglimit-same-");
  try {
    const logs: string[] = [];
    for (const launcher of LAUNCHERS) {
      const executor = new LocalExecutor({ launcher });
      try {
        const stdoutFile = join(scratch.path, `${launcher}.log`);
        const handle = await executor.start({
          command: "bash",
          // Lines of varied length, so that the head ends mid-line and the ring wraps unevenly.
          args: ["-c", "for i in $(seq 1 3000); do printf 'line %d %*s\\n' $i $((i % 37)) x; done"],
          cwd: scratch.path,
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
          stdoutFile,
          stderrFile: join(scratch.path, `${launcher}.err`),
          tailLines: 3,
          logLimitBytes: 5000,
        });
        assert.equal((await handle.wait()).exitCode, 0);
        logs.push(readFileSync(stdoutFile, "utf8"));
      } finally {
        await executor.close();
      }
    }
    assert.match(logs[0] ?? "", CUT_LINE);
    assert.equal(logs[0], logs[1]);
  } finally {
    scratch.cleanup();
  }
});
