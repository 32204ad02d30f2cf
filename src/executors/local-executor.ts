import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ExecutionHandle, ExecutionResult, ExecutionSpec, Executor } from "./executor.ts";
import { ExecutionStartError } from "./executor.ts";
import { fileTail } from "./file-tail.ts";

/** Time between SIGTERM and SIGKILL when a tree is cancelled. */
const KILL_GRACE_MS = 3000;

const LAUNCHER = fileURLToPath(new URL("./launcher.mjs", import.meta.url));

type LauncherMessage =
  | { type: "started"; id: number; pid: number }
  | { type: "failed"; id: number; error: string }
  | { type: "exit"; id: number; code: number | null; signal: string | null };

interface Pending {
  started: (pid: number) => void;
  failed: (e: Error) => void;
  exited: (result: { code: number | null; signal: string | null }) => void;
  pid: number | null;
}

/**
 * Runs scripts on this machine, each in its own process group, started by a small launcher
 * process (`launcher.mjs`): cheap to fork from, and it kills every running script if this
 * process dies. The script writes straight into its log files; tails are read at the end.
 */
export class LocalExecutor implements Executor {
  private launcher: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  async start(spec: ExecutionSpec): Promise<ExecutionHandle> {
    const launcher = this.ensureLauncher();
    const id = this.nextId++;
    let exitedResolve: Pending["exited"] = () => {};
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      exitedResolve = resolve;
    });
    const pid = await new Promise<number>((resolve, reject) => {
      const entry: Pending = {
        started: (p) => {
          entry.pid = p;
          resolve(p);
        },
        failed: (e) => reject(new ExecutionStartError(spec.command, e.message)),
        exited: exitedResolve,
        pid: null,
      };
      this.pending.set(id, entry);
      const { command, args, cwd, env, stdoutFile, stderrFile } = spec;
      launcher.send({ type: "start", id, command, args, cwd, env, stdoutFile, stderrFile });
    });
    const startedAt = new Date();
    let cancelReason: string | null = null;
    return {
      id: String(pid),
      wait: async (): Promise<ExecutionResult> => {
        const { code, signal } = await exited;
        return {
          exitCode: code,
          signal,
          cancelReason,
          stdoutTail: fileTail(spec.stdoutFile, spec.tailLines),
          stderrTail: fileTail(spec.stderrFile, spec.tailLines),
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

  /** Stops the launcher; scripts still running are killed with it. */
  async close(): Promise<void> {
    const launcher = this.launcher;
    this.launcher = null;
    if (!launcher || launcher.exitCode !== null) return;
    const gone = new Promise((resolve) => launcher.once("exit", resolve));
    launcher.disconnect();
    await gone;
  }

  private ensureLauncher(): ChildProcess {
    if (this.launcher?.connected) return this.launcher;
    // execArgv: [] so that the launcher starts as plain Node, without this process's loaders.
    const launcher = fork(LAUNCHER, [], { execArgv: [], stdio: ["ignore", "ignore", "inherit", "ipc"] });
    launcher.on("message", (message: LauncherMessage) => this.onLauncherMessage(message));
    launcher.once("exit", () => this.onLauncherExit(launcher));
    this.launcher = launcher;
    return launcher;
  }

  private onLauncherMessage(message: LauncherMessage): void {
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if (message.type === "started") entry.started(message.pid);
    else if (message.type === "failed") {
      this.pending.delete(message.id);
      entry.failed(new Error(message.error));
    } else {
      this.pending.delete(message.id);
      entry.exited({ code: message.code, signal: message.signal });
    }
  }

  /** The launcher died: its scripts cannot be watched any more, so end them and report them ended. */
  private onLauncherExit(launcher: ChildProcess): void {
    if (this.launcher === launcher) this.launcher = null;
    for (const [id, entry] of this.pending) {
      if (entry.pid !== null) killGroup(entry.pid, "SIGKILL");
      else entry.failed(new Error("the launcher process exited"));
      entry.exited({ code: null, signal: "SIGKILL" });
      this.pending.delete(id);
    }
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}
