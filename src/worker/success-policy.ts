/**
 * How a finished script is judged — a pure decision, table-tested.
 *
 * - `exit_code` (default): the exit code is the script's verdict; 0 is success whatever stderr
 *   holds (warnings and progress bars on stderr are not failures).
 * - `stderr` (SNS compatibility): the exit code still comes first, but a script that exits 0
 *   and wrote to stderr failed — unless its error line matches one of the `exceptions`, in which
 *   case the line is kept as information. The error line is, as in the SNS agent, the last
 *   `Error: <text>` on stderr, else the last line that is not blank and not only dashes.
 */
export type SuccessMode = "exit_code" | "stderr";

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
  /** The whole stderr (or its last part). */
  stderr: string;
  /** Last lines of stdout, used when stderr is empty. */
  stdoutTail: string[];
}

/** Success (with an optional ignored error line) or failure with the message shown to people. */
export type JobOutcome = { ok: true; information: string | null } | { ok: false; error: string };

export function judgeOutcome(script: FinishedScript, policy: SuccessPolicy): JobOutcome {
  if (script.cancelReason) return { ok: false, error: `REDUCTION: ${script.cancelReason}` };
  if (script.killReason) return { ok: false, error: `REDUCTION: killed: ${script.killReason}` };
  const stderrLines = script.stderr.split(/\r?\n/);
  if (script.exitCode !== 0) {
    const how =
      script.exitCode === null ? `killed by ${script.signal ?? "a signal"}` : `exit code ${script.exitCode}`;
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
