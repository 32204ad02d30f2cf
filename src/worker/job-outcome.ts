import type { ExecutionResult } from "../executors/executor.ts";

/** How a finished script is judged. */
export type JobOutcome = { ok: true; information: string | null } | { ok: false; error: string };

/**
 * Decides success from the exit code (the script's own verdict). The error names the last
 * meaningful stderr line, in the SNS agent's form `REDUCTION: <line>`. A pure function.
 */
export function judgeExecution(result: ExecutionResult): JobOutcome {
  if (result.cancelReason) return { ok: false, error: `REDUCTION: ${result.cancelReason}` };
  if (result.exitCode === 0) return { ok: true, information: null };
  const how =
    result.exitCode === null ? `killed by ${result.signal ?? "a signal"}` : `exit code ${result.exitCode}`;
  const line = lastMeaningfulLine(result.stderrTail) ?? lastMeaningfulLine(result.stdoutTail);
  return {
    ok: false,
    error: line ? `REDUCTION: ${line} (${how})` : `REDUCTION: script failed with ${how} and wrote no error`,
  };
}

/** The last line that is not blank and not only dashes. */
export function lastMeaningfulLine(lines: string[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] ?? "").trim();
    if (line && !/^-+$/.test(line)) return line;
  }
  return null;
}
