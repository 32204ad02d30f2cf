/**
 * Where and how a reduction script runs. The worker calls `start` and then waits on the handle;
 * `cancel` ends the whole process tree. Implementations: `local` (a child process tree on this
 * machine); `ssh` and `slurm` later, where a job may outlive a worker restart — hence the
 * handle's `id`, from which such an executor can re-attach.
 */
export interface Executor {
  start(spec: ExecutionSpec): Promise<ExecutionHandle>;
  /** Releases what the executor holds (helper processes, connections). */
  close(): Promise<void>;
}

export interface ExecutionSpec {
  /** Program to run (looked up on PATH). */
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Files that receive the script's stdout and stderr (truncated at start). */
  stdoutFile: string;
  stderrFile: string;
  /** Lines of stdout/stderr kept in memory for status messages. */
  tailLines: number;
}

export interface ExecutionHandle {
  /** Identifies the execution where it runs (local: the process group id). */
  readonly id: string;
  wait(): Promise<ExecutionResult>;
  /** Ends the whole process tree: SIGTERM, then SIGKILL after a grace period. */
  cancel(reason: string): Promise<void>;
}

export interface ExecutionResult {
  /** Exit code, or null when the process was ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** Set when `cancel` ended it. */
  cancelReason: string | null;
  stdoutTail: string[];
  stderrTail: string[];
  startedAt: Date;
  finishedAt: Date;
}

/** The program could not be started at all (missing interpreter, unreadable folder). Not the script's fault. */
export class ExecutionStartError extends Error {
  override readonly name = "ExecutionStartError";
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`cannot start ${command}: ${reason}`);
  }
}
