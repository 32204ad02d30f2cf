/**
 * Where and how a reduction script runs. The worker calls `start` and then waits on the handle
 * (or polls it); `cancel` ends the whole process tree; `usage` reports resources used so far.
 * The executor enforces the spec's limits itself — locally by watching `/proc`, on a cluster by
 * the scheduler's own limits — and says which limit ended a job in `killReason`.
 *
 * Implementations: `local` (a process tree on this machine). `ssh` and `slurm` come later; there a
 * job may run for hours on another machine while the worker restarts, so a handle has a stable
 * `id` and an executor may offer `attach(id, spec)` to pick a running job up again.
 */
export interface Executor {
  /** Short name recorded with each reduction (`local`, `ssh`, `slurm`). */
  readonly kind: string;
  start(spec: ExecutionSpec): Promise<ExecutionHandle>;
  /** Re-attaches to a job started earlier (by this or a previous worker process), if the executor can. */
  attach?(id: string, spec: ExecutionSpec): Promise<ExecutionHandle | null>;
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
  /** Limits; a breach kills the whole tree and is written to the stderr file. None by default. */
  limits?: ExecutionLimits;
}

export interface ExecutionLimits {
  /** Resident memory of the whole process tree, in bytes; null for no limit. */
  memoryBytes: number | null;
  /** Wall time from start, in seconds; null for no limit. */
  wallSeconds: number | null;
  /** Longest time without the stdout or stderr file growing, in seconds; null for no limit. */
  stallSeconds: number | null;
  /** Period of the checks, in milliseconds. */
  checkIntervalMs: number;
}

export interface ResourceUsage {
  /** Resident memory of the whole tree now (bytes), as last measured; null if unknown. */
  memoryBytes: number | null;
  /** Highest resident memory of the tree seen so far (bytes); null if unknown. */
  peakMemoryBytes: number | null;
  /** CPU time (user + system) of the tree's processes seen so far, in seconds; null if unknown. */
  cpuSeconds: number | null;
  /** Processes in the tree now. */
  processes: number;
}

export interface ExecutionHandle {
  /** Identifies the execution where it runs (local: the process group id). */
  readonly id: string;
  wait(): Promise<ExecutionResult>;
  /** The result if the job has ended, else null (does not block). */
  poll(): ExecutionResult | null;
  /** Resources used so far. */
  usage(): ResourceUsage;
  /** Ends the whole process tree: SIGTERM, then SIGKILL after a grace period. */
  cancel(reason: string): Promise<void>;
}

export interface ExecutionResult {
  /** Exit code, or null when the process was ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** Set when `cancel` ended it. */
  cancelReason: string | null;
  /** Set when a limit ended it, e.g. `memory 12.3 GiB > limit 11 GiB`. */
  killReason: string | null;
  stdoutTail: string[];
  stderrTail: string[];
  startedAt: Date;
  finishedAt: Date;
  usage: ResourceUsage;
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
