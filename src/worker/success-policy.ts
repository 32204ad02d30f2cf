/**
 * How a finished script is judged — a pure decision, table-tested.
 *
 * - `exit_code` (default): the exit code is the script's verdict; 0 is success whatever stderr
 *   holds (warnings and progress bars on stderr are not failures).
 * - `stderr` (SNS compatibility): the exit code still comes first, but a script that exits 0
 *   and wrote to stderr failed — unless its error line matches one of the `exceptions`, in which
 *   case the line is kept as information. The error line is, as in the SNS agent, the last
 *   `Error: <text>` on stderr, else the last line that is not blank and not only dashes.
 * - `agent` (`stderr` with `worker.sns_compatible`): the SNS agent's rule exactly — stderr
 *   decides, its error line without our exit-code note; the exit code counts only when stderr is
 *   empty (the agent never reads it; we still fail a script that crashed silently).
 */
export type SuccessMode = "exit_code" | "stderr" | "agent";

export interface SuccessPolicy {
  mode: SuccessMode;
  /** Patterns of stderr error lines that are information, not errors (`stderr` mode). */
  exceptions: RegExp[];
}

/** What the decision needs to know about a finished script. */
export interface FinishedScript {
  exitCode: number | null;
  signal: string | null;
  /** A person or a stopping worker ended it. */
  cancelReason: string | null;
  /** A limit ended it (`memory 12.3 GiB > limit 11.0 GiB`). */
  killReason: string | null;
  /** The SNS agent's own line for that kill (`agentKillLine`), reported in place of ours when set. */
  killLine?: string | null;
  /** The whole stderr (or its last part). */
  stderr: string;
  /** Last lines of stdout, used when stderr is empty. */
  stdoutTail: string[];
}

/** Success (with an optional ignored error line) or failure with the message shown to people. */
export type JobOutcome = { ok: true; information: string | null } | { ok: false; error: string };

export function judgeOutcome(script: FinishedScript, policy: SuccessPolicy): JobOutcome {
  if (script.cancelReason) return { ok: false, error: `REDUCTION: ${script.cancelReason}` };
  if (script.killReason)
    return { ok: false, error: `REDUCTION: ${script.killLine ?? `killed: ${script.killReason}`}` };
  const stderrLines = script.stderr.split(/\r?\n/);
  if (policy.mode === "agent") return judgeAsAgent(script, stderrLines, policy);
  if (script.exitCode !== 0) {
    const how = exitText(script);
    const line = lastMeaningfulLine(stderrLines) ?? lastMeaningfulLine(script.stdoutTail);
    return {
      ok: false,
      error: line ? `REDUCTION: ${line} (${how})` : `REDUCTION: script failed with ${how} and wrote no error`,
    };
  }
  if (policy.mode === "exit_code" || script.stderr.trim() === "") return { ok: true, information: null };
  const line = snsErrorLine(stderrLines);
  if (line === null) return { ok: true, information: null };
  if (policy.exceptions.some((pattern) => pattern.test(line))) return { ok: true, information: line };
  return { ok: false, error: `REDUCTION: ${line}` };
}

/** The agent's `determine_success_local`, with a silent crash (empty stderr, exit code ≠ 0) a failure. */
function judgeAsAgent(script: FinishedScript, stderrLines: string[], policy: SuccessPolicy): JobOutcome {
  const line = script.stderr.trim() === "" ? null : snsErrorLine(stderrLines);
  if (line === null) {
    if (script.exitCode === 0) return { ok: true, information: null };
    return { ok: false, error: `REDUCTION: script failed with ${exitText(script)} and wrote no error` };
  }
  if (policy.exceptions.some((pattern) => pattern.test(line))) return { ok: true, information: line };
  return { ok: false, error: `REDUCTION: ${line}` };
}

function exitText(script: FinishedScript): string {
  return script.exitCode === null
    ? `killed by ${script.signal ?? "a signal"}`
    : `exit code ${script.exitCode}`;
}

/** What the agent knows of a limit's kill: which limit, what was measured and the limit itself. */
export interface LimitKill {
  kind: "memory" | "time";
  /** Bytes (memory) or seconds (time). */
  measured: number;
  limit: number;
}

const GIB = 1024 ** 3;

/**
 * Which of the agent's limits ended a job, from the executor's measurements: memory when the
 * tree's peak passed the memory limit (the executor checks memory first), else time when it ran
 * past the wall-time limit; null for a kill the agent has no limit for (stall) or no kill.
 */
export function limitKill(
  result: {
    killReason: string | null;
    startedAt: Date;
    finishedAt: Date;
    usage: { peakMemoryBytes: number | null };
  },
  limits: { memoryBytes: number | null; wallSeconds: number | null } | undefined,
): LimitKill | null {
  if (!result.killReason || !limits) return null;
  const peak = result.usage.peakMemoryBytes;
  if (limits.memoryBytes !== null && peak !== null && peak > limits.memoryBytes)
    return { kind: "memory", measured: peak, limit: limits.memoryBytes };
  const elapsed = (result.finishedAt.getTime() - result.startedAt.getTime()) / 1000;
  if (limits.wallSeconds !== null && elapsed >= limits.wallSeconds)
    return { kind: "time", measured: elapsed, limit: limits.wallSeconds };
  return null;
}

/**
 * The line the SNS agent appends to the `.err` file when it ends a job at a limit (its
 * `job_handling.local_submission`, numbers as Python's `{:2f}`: six decimals), e.g.
 * `Total memory usage exceeded limit (0.812500 GiB > 0.240000 GiB). Terminating job.`
 */
export function agentKillLine(kill: LimitKill): string {
  if (kill.kind === "memory")
    return `Total memory usage exceeded limit (${(kill.measured / GIB).toFixed(6)} GiB > ${(kill.limit / GIB).toFixed(6)} GiB). Terminating job.`;
  return `Time limit exceeded (${kill.measured.toFixed(6)} s > ${kill.limit.toFixed(6)} s). Terminating job.`;
}

/** The SNS agent's error line: the text of the last `Error: <text>`, else the last meaningful line. */
export function snsErrorLine(lines: string[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = /Error: (.+)$/.exec(lines[i] ?? "");
    if (match?.[1]) return match[1].trim();
  }
  return lastMeaningfulLine(lines);
}

/** The last line that is not blank and not only dashes. */
export function lastMeaningfulLine(lines: string[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] ?? "").trim();
    if (line && !/^-+$/.test(line)) return line;
  }
  return null;
}

/** Compiles allow-list patterns; config validation has already checked that they compile. */
export function successPolicy(mode: SuccessMode, exceptions: string[]): SuccessPolicy {
  return { mode, exceptions: exceptions.map((pattern) => new RegExp(pattern)) };
}
