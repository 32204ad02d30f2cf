import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import type { ExecutionHandle, ExecutionResult, ExecutionSpec, Executor } from "./executor.ts";
import { ExecutionStartError } from "./executor.ts";
import { LineTail } from "./line-tail.ts";

/**
 * Runs the script under a small shell guard in a new process group. The guard reads its stdin,
 * a pipe from this process: when this process dies (even by SIGKILL) the pipe closes and the
 * guard kills the whole group, so no reduction outlives the worker that owned it.
 */
const GUARD = [
  "exec 3<&0",
  '"$@" 3<&- &',
  "child=$!",
  "{ while read -r _; do :; done; kill -KILL 0; } <&3 &",
  "watch=$!",
  'wait "$child"',
  "status=$?",
  'kill "$watch" 2>/dev/null',
  'exit "$status"',
].join("\n");

/** Seconds between SIGTERM and SIGKILL when a tree is cancelled. */
const KILL_GRACE_MS = 3000;

export class LocalExecutor implements Executor {
  async start(spec: ExecutionSpec): Promise<ExecutionHandle> {
    const stdout = createWriteStream(spec.stdoutFile, { flags: "w" });
    const stderr = createWriteStream(spec.stderrFile, { flags: "w" });
    await Promise.all([once(stdout, "open"), once(stderr, "open")]);
    const child = spawn("/bin/sh", ["-c", GUARD, "autoreduce-guard", spec.command, ...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const startedAt = new Date();
    const outTail = new LineTail(spec.tailLines);
    const errTail = new LineTail(spec.tailLines);
    child.stdout.on("data", (d: Buffer) => outTail.push(d));
    child.stderr.on("data", (d: Buffer) => errTail.push(d));
    child.stdout.pipe(stdout);
    child.stderr.pipe(stderr);
    child.stdin.on("error", () => {});
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("spawn", () => resolve(child.pid ?? -1));
      child.once("error", (e) => reject(new ExecutionStartError(spec.command, e.message)));
    });
    let cancelReason: string | null = null;
    const exited = once(child, "close").then(async ([code, signal]) => {
      await Promise.all([finished(stdout), finished(stderr)]);
      return { code: code as number | null, signal: signal as string | null };
    });
    return {
      id: String(pid),
      wait: async (): Promise<ExecutionResult> => {
        const { code, signal } = await exited;
        return {
          exitCode: code,
          signal,
          cancelReason,
          stdoutTail: outTail.get(),
          stderrTail: errTail.get(),
          startedAt,
          finishedAt: new Date(),
        };
      },
      cancel: async (reason: string) => {
        cancelReason ??= reason;
        killGroup(pid, "SIGTERM");
        const timer = setTimeout(() => killGroup(pid, "SIGKILL"), KILL_GRACE_MS);
        await exited;
        clearTimeout(timer);
        killGroup(pid, "SIGKILL");
      },
    };
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

async function finished(stream: WriteStream): Promise<void> {
  if (stream.writableFinished || stream.destroyed) return;
  await once(stream, "finish").catch(() => {});
}
