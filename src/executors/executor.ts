import { InfrastructureError } from "../failures/infrastructure-error.ts";

/**
 * Where and how a reduction script runs. The worker calls `start` and then waits on the handle
 * (or polls it); `cancel` ends the whole process tree; `usage` reports resources used so far.
 * The executor enforces the spec's limits itself — locally by watching `/proc`, on a cluster by
 * the scheduler's own limits — and says which limit ended a job in `killReason`.
 *
 * Everything the worker learns about a job goes through this interface — its logs
 * (`readLogEnd`) and its output files (`listOutput`) included — so an executor whose jobs run on
 * another machine (ssh, Slurm) can implement it without the worker assuming local files. Each
 * handle has an `externalId` that names the job where it runs (a pid with its start time here, a
 * Slurm job id there), so a restarted worker can `attach` to a job that outlived it.
 *
 * Implementations are chosen by name through `executor-registry.ts` (`worker.executor`); only
 * `local` exists now.
 */
export interface Executor {
  /** Short name recorded with each reduction (`local`, later `ssh`, `slurm`); the registry's key. */
  readonly kind: string;
  /** Starts a job; throws `ExecutionStartError` if it cannot start at all (not the script's fault). */
  start(spec: ExecutionSpec): Promise<ExecutionHandle>;
  /**
   * Picks up a job started earlier — by this or a previous worker process — from its
   * `externalId`; null if that job no longer runs (its result is then unknown to the executor).
   * Local jobs never outlive their worker (the launcher kills them), so `local` returns null
   * after making sure nothing of the job is left.
   */
  attach(externalId: string, spec: ExecutionSpec): Promise<ExecutionHandle | null>;
  /** The last `maxBytes` bytes of a job's log file (`stdoutFile`/`stderrFile`) as text; "" if unreadable. */
  readLogEnd(file: string, maxBytes: number): Promise<string>;
  /**
   * Files under `dir` (a job's output folder) written since `since` — what the job produced —
   * skipping its `reduction_log` folder and the folders directly under `dir` named in `skip`,
   * sorted; paths as the worker's side knows them.
   */
  listOutput(dir: string, since: Date, skip?: readonly string[]): Promise<string[]>;
  /** Releases what the executor holds (helper processes, connections). */
  close(): Promise<void>;
}

export interface ExecutionSpec {
  /** Program to run (looked up on PATH). */
  command: string;
  args: string[];
  cwd: string;
  /** The script's whole environment; the local executor adds `AUTOREDUCE_JOB_TOKEN` (`job-token.ts`). */
  env: Record<string, string>;
  /** Files that receive the script's stdout and stderr (truncated at start). */
  stdoutFile: string;
  stderrFile: string;
  /** Lines of stdout/stderr kept in memory for status messages. */
  tailLines: number;
  /** Limits; a breach kills the whole tree and is written to the stderr file. None by default. */
  limits?: ExecutionLimits;
  /**
   * Bytes of each log file (stdout, stderr) kept at most: the first and last halves, with a line
   * between them saying how many bytes were cut (`worker.log_limit`). Null or absent: no limit.
   */
  logLimitBytes?: number | null;
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
  /** Identifies the execution where it runs, for people and logs (local: the process group id). */
  readonly id: string;
  /**
   * Names the job for `Executor.attach` after a restart, and is recorded with the job: local
   * `<pid>@<start time in clock ticks>` (a pid alone may be reused), later a Slurm job id.
   */
  readonly externalId: string;
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
  /** Log streams whose middle was cut to keep them within `logLimitBytes` (empty when none was). */
  logCuts: LogCut[];
  /**
   * A fault of the machine, not of the script, that the executor saw while running the job (a
   * log write failed: `ENOSPC: no space left on device, write (writing …/x.log)`); null if none.
   * The worker retries such a job rather than blame the script.
   */
  infrastructureProblem: string | null;
}

/** What was cut from one log stream. */
export interface LogCut {
  stream: "stdout" | "stderr";
  /** Bytes of the script's output not kept in the file. */
  cutBytes: number;
}

/** The program could not be started at all (missing interpreter, unreadable folder). Not the script's fault. */
export class ExecutionStartError extends InfrastructureError {
  override readonly name = "ExecutionStartError";
  constructor(
    readonly command: string,
    readonly reason: string,
    /** The system error code behind it (`ENOENT`, `ENOSPC`), when there is one. */
    readonly code: string | null = null,
  ) {
    super(`cannot start ${command}: ${reason}`);
  }
}
