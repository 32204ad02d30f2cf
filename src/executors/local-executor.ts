import { type ChildProcessByStdio, spawn } from "node:child_process";
import { appendFileSync, statfsSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type {
  ExecutionHandle,
  ExecutionResult,
  ExecutionSpec,
  Executor,
  LogCut,
  ResourceUsage,
} from "./executor.ts";
import { ExecutionStartError } from "./executor.ts";
import { fileEnd, fileTail } from "./file-tail.ts";
import { killByToken, newJobToken, processToken, sweepOrphans } from "./job-token.ts";
import { chooseLauncher, type LauncherKind, type LauncherProgram } from "./launcher-choice.ts";
import { outputFilesSince } from "./output-listing.ts";
import { ProcessSupervisor, type ProcessTree } from "./process-supervisor.ts";
import { processStartTime } from "./process-table.ts";

/** Time between SIGTERM and SIGKILL when a tree is cancelled or exceeds a limit. */
const KILL_GRACE_MS = 3000;

type Launcher = ChildProcessByStdio<Writable, Readable, null>;

type LauncherMessage =
  | { type: "started"; id: number; pid: number }
  | { type: "failed"; id: number; error: string; code: string | null }
  | { type: "exit"; id: number; code: number | null; signal: string | null }
  | { type: "closed"; id: number; cuts: LogCut[]; problem: string | null; problemCode: string | null }
  /** The launcher is a child subreaper (launcher.py): said once, before anything else. */
  | { type: "subreaper"; id: 0 };

/** What the launcher says of a job's logs once it has closed them. */
export interface LogsClosed {
  cuts: LogCut[];
  /** A failed log write (disk full), or null. */
  problem: string | null;
}

interface RootExit {
  code: number | null;
  signal: string | null;
}

interface Pending {
  started: (pid: number) => void;
  failed: (e: ExecutionStartError) => void;
  exited: (exit: RootExit) => void;
  /** Set once the root exited: resolves when the launcher has closed the job's logs. */
  closed: ((logs: LogsClosed) => void) | null;
  pid: number | null;
  hasExited: boolean;
}

/**
 * Runs scripts on this machine, each in its own process group, started by a small launcher
 * process (`launcher.py` under python3, else `launcher.mjs`; see launcher-choice.ts): cheap to
 * fork from, and it kills every running job if this process dies. Every process of a job carries the job's token in its environment (`job-token.ts`), so
 * that nothing of a job outlives it, however it detached: when a job ends, its group, the
 * processes seen in its tree and every holder of its token are killed; a new executor (a worker
 * starting) kills the leftovers of jobs whose worker died with its launcher. One supervisor
 * watches all running jobs through `/proc`: it measures their trees and enforces their limits.
 * The launcher writes the logs, within `logLimitBytes`; tails are read at the end.
 */
export class LocalExecutor implements Executor {
  readonly kind = "local";
  /** The launcher program this executor runs (chosen once: python3 when on PATH). */
  readonly launcherProgram: LauncherProgram;
  private launcher: Launcher | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly jobs = new Set<LocalJob>();
  /** The running launcher, when it said it is a child subreaper: every job's process is under it. */
  private subreaper: { launcher: Launcher; pid: number; startTime: number } | null = null;
  private readonly supervisor = new ProcessSupervisor(() =>
    this.subreaper && this.subreaper.launcher === this.launcher && isRunning(this.subreaper.launcher)
      ? this.subreaper
      : null,
  );
  private nextId = 1;
  /** The sweep of orphans left by dead workers, begun when the executor is made (a worker starts). */
  private readonly swept: Promise<unknown> = sweepOrphans().catch(() => 0);

  /** `launcher`: which launcher to run (tests run both); by default the Python one when python3 is on PATH. */
  constructor(options: { launcher?: LauncherKind } = {}) {
    this.launcherProgram = chooseLauncher(options.launcher);
  }

  async start(spec: ExecutionSpec): Promise<ExecutionHandle> {
    await this.swept;
    const launcher = this.ensureLauncher();
    const id = this.nextId++;
    const token = newJobToken();
    let exitedResolve: Pending["exited"] = () => {};
    const exited = new Promise<RootExit>((resolve) => {
      exitedResolve = resolve;
    });
    const pid = await new Promise<number>((resolve, reject) => {
      const entry: Pending = {
        started: (p) => {
          entry.pid = p;
          resolve(p);
        },
        failed: (e) => reject(new ExecutionStartError(spec.command, e.reason, e.code)),
        exited: exitedResolve,
        closed: null,
        pid: null,
        hasExited: false,
      };
      this.pending.set(id, entry);
      const { command, args, cwd, env, stdoutFile, stderrFile } = spec;
      const logLimitBytes = spec.logLimitBytes ?? null;
      send(launcher, {
        type: "start",
        id,
        command,
        args,
        cwd,
        env,
        token,
        stdoutFile,
        stderrFile,
        logLimitBytes,
      });
    });
    const job = new LocalJob(pid, token, spec, this.supervisor, () => this.closeLogs(id));
    this.jobs.add(job);
    void exited.then((exit) => job.rootExited(exit)).finally(() => this.jobs.delete(job));
    return job;
  }

  /**
   * Local jobs never outlive their worker, so there is nothing to pick up: if the process named
   * by `externalId` (`<pid>@<start time>`) still runs, it is a leftover and is killed with every
   * holder of its token. Always null.
   */
  async attach(externalId: string, _spec: ExecutionSpec): Promise<ExecutionHandle | null> {
    const match = /^(\d+)@(\d+)$/.exec(externalId);
    if (!match) return null;
    const pid = Number(match[1]);
    if (processStartTime(pid) !== Number(match[2])) return null;
    const token = processToken(pid);
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // not a group leader any more, or gone
    }
    if (token !== null) await killByToken((t) => t === token);
    return null;
  }

  async readLogEnd(file: string, maxBytes: number): Promise<string> {
    return fileEnd(file, maxBytes);
  }

  async listOutput(dir: string, since: Date, skip: readonly string[] = []): Promise<string[]> {
    return outputFilesSince(dir, since, skip);
  }

  /** Asks the launcher to close a job's logs (its tree is gone); resolves with what it says of them. */
  private closeLogs(id: number): Promise<LogsClosed> {
    const entry = this.pending.get(id);
    const launcher = this.launcher;
    if (!entry || !launcher || !isRunning(launcher)) return Promise.resolve({ cuts: [], problem: null });
    return new Promise((resolve) => {
      entry.closed = resolve;
      send(launcher, { type: "finish", id });
    });
  }

  /** Stops the launcher; scripts still running are killed with it, and their trees are ended. */
  async close(): Promise<void> {
    const launcher = this.launcher;
    this.launcher = null;
    if (launcher && launcher.exitCode === null && launcher.signalCode === null) {
      const gone = new Promise((resolve) => launcher.once("exit", resolve));
      // The launcher takes its closed stdin as the worker gone: it kills what still runs and exits.
      launcher.stdin.end();
      await gone;
    }
    await Promise.allSettled([...this.jobs].map((job) => job.wait()));
    this.supervisor.close();
  }

  private ensureLauncher(): Launcher {
    if (this.launcher && isRunning(this.launcher)) return this.launcher;
    const { command, args } = this.launcherProgram;
    const launcher = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
    // A launcher that cannot be started (python3 removed since) fails its jobs' starts; its
    // 'exit' event then reports them ended.
    launcher.on("error", () => this.onLauncherExit(launcher));
    launcher.stdin.on("error", () => {}); // EPIPE once it died: its 'exit' tells the rest
    createInterface({ input: launcher.stdout }).on("line", (line) => {
      let message: LauncherMessage;
      try {
        message = JSON.parse(line) as LauncherMessage;
      } catch {
        return; // not a protocol line: nothing the launcher itself would write
      }
      if (message.type === "subreaper") this.noteSubreaper(launcher);
      else this.onLauncherMessage(message);
    });
    // 'close', not 'exit': every line the launcher wrote before it ended has been handled by then.
    launcher.once("close", () => this.onLauncherExit(launcher));
    this.launcher = launcher;
    return launcher;
  }

  private noteSubreaper(launcher: Launcher): void {
    const startTime = launcher.pid === undefined ? null : processStartTime(launcher.pid);
    if (launcher.pid === undefined || startTime === null) return;
    this.subreaper = { launcher, pid: launcher.pid, startTime };
  }

  private onLauncherMessage(message: Exclude<LauncherMessage, { type: "subreaper" }>): void {
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if (message.type === "started") entry.started(message.pid);
    else if (message.type === "failed") {
      this.pending.delete(message.id);
      entry.failed(new ExecutionStartError("", message.error, message.code));
    } else if (message.type === "exit") {
      entry.hasExited = true;
      entry.exited({ code: message.code, signal: message.signal });
    } else {
      this.pending.delete(message.id);
      entry.closed?.({ cuts: message.cuts.filter((c) => c.cutBytes > 0), problem: message.problem });
    }
  }

  /**
   * The launcher died: its scripts cannot be waited for any more, so report them ended; ending
   * a job kills whatever is left of its tree.
   */
  private onLauncherExit(launcher: Launcher): void {
    if (this.launcher === launcher) this.launcher = null;
    for (const [id, entry] of this.pending) {
      if (entry.pid === null) entry.failed(new ExecutionStartError("", "the launcher process exited"));
      if (!entry.hasExited) entry.exited({ code: null, signal: "SIGKILL" });
      entry.closed?.({ cuts: [], problem: null });
      this.pending.delete(id);
    }
  }
}

function isRunning(launcher: Launcher): boolean {
  return launcher.exitCode === null && launcher.signalCode === null && launcher.stdin.writable;
}

function send(launcher: Launcher, message: object): void {
  launcher.stdin.write(`${JSON.stringify(message)}\n`);
}

/**
 * Lifecycle of a local job. Allowed transitions: running → stopping → finishing → ended, and
 * running → finishing → ended (the script ended by itself).
 */
type JobState =
  /** The script runs; the supervisor measures it and checks its limits. */
  | "running"
  /** A limit or `cancel` asked the tree to end: SIGTERM was sent, SIGKILL follows after the grace period. */
  | "stopping"
  /** The root process exited; what is left of the tree is being killed. */
  | "finishing"
  /** Nothing of the tree is left; the result is fixed. */
  | "ended";

/** One script run by a LocalExecutor: the handle the worker holds. */
class LocalJob implements ExecutionHandle {
  readonly id: string;
  readonly externalId: string;
  private state: JobState = "running";
  private cancelReason: string | null = null;
  private killReason: string | null = null;
  private result: ExecutionResult | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private readonly startedAt = new Date();
  private readonly tree: ProcessTree;
  private readonly ended: Promise<ExecutionResult>;
  private settle: { resolve: (r: ExecutionResult) => void; reject: (e: unknown) => void } | null = null;

  constructor(
    pid: number,
    /** The job's token, in the environment of each of its processes. */
    token: string,
    private readonly spec: ExecutionSpec,
    private readonly supervisor: ProcessSupervisor,
    private readonly closeLogs: () => Promise<LogsClosed>,
  ) {
    this.id = String(pid);
    this.externalId = `${pid}@${processStartTime(pid) ?? 0}`;
    this.ended = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.tree = supervisor.watch(pid, {
      limits: spec.limits ?? null,
      token,
      outputFiles: [spec.stdoutFile, spec.stderrFile],
      onBreach: (reason) => this.onBreach(reason),
    });
  }

  wait(): Promise<ExecutionResult> {
    return this.ended;
  }

  poll(): ExecutionResult | null {
    return this.result;
  }

  usage(): ResourceUsage {
    return this.tree.usage();
  }

  async cancel(reason: string): Promise<void> {
    if (this.state === "running") {
      this.cancelReason = reason;
      this.stop();
    }
    await this.ended.catch(() => {});
  }

  /** The launcher saw the root process exit: end the rest of the tree, then fix the result. */
  async rootExited(exit: RootExit): Promise<void> {
    if (this.killTimer) clearTimeout(this.killTimer);
    this.state = "finishing";
    let logs: LogsClosed;
    try {
      // Ends every process of the tree, token holders included: also those that left the group
      // before any scan saw them (double fork + setsid).
      await this.supervisor.end(this.tree);
      logs = await this.closeLogs();
    } catch (e) {
      this.settle?.reject(e);
      return;
    }
    // Written last, once nothing of the tree can write any more, so it is the last line of the
    // error tail and of the file: the line the worker reports as the job's error.
    if (this.killReason) appendToFile(this.spec.stderrFile, `killed: ${this.killReason}\n`);
    this.result = {
      exitCode: exit.code,
      signal: exit.signal,
      cancelReason: this.cancelReason,
      killReason: this.killReason,
      stdoutTail: fileTail(this.spec.stdoutFile, this.spec.tailLines),
      stderrTail: fileTail(this.spec.stderrFile, this.spec.tailLines),
      startedAt: this.startedAt,
      finishedAt: new Date(),
      usage: this.tree.usage(),
      logCuts: logs.cuts,
      infrastructureProblem:
        logs.problem ??
        (exit.code !== 0 && !this.cancelReason && !this.killReason
          ? noSpaceLeft(this.spec.stderrFile)
          : null),
    };
    this.state = "ended";
    this.settle?.resolve(this.result);
  }

  private onBreach(reason: string): void {
    if (this.state !== "running") return;
    this.killReason = reason;
    this.stop();
  }

  /** SIGTERM to the whole tree now, SIGKILL to what is left of it after the grace period. */
  private stop(): void {
    this.state = "stopping";
    this.supervisor.signal(this.tree, "SIGTERM");
    this.killTimer = setTimeout(() => this.supervisor.signal(this.tree, "SIGKILL"), KILL_GRACE_MS);
  }
}

/**
 * A failed script whose log folder's filesystem is full most likely failed for that (its own
 * error message may not even have reached the log): says so, or null when there is room.
 */
function noSpaceLeft(logFile: string): string | null {
  try {
    const fs = statfsSync(dirname(logFile));
    return fs.bavail === 0 || fs.ffree === 0
      ? `no space left on the filesystem of ${dirname(logFile)} (${fs.bavail === 0 ? "blocks" : "inodes"})`
      : null;
  } catch {
    return null;
  }
}

function appendToFile(path: string, text: string): void {
  try {
    appendFileSync(path, text);
  } catch {
    // the log folder is gone; the reason is still in the result
  }
}
