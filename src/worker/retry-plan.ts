import { type Backoff, backoffDelay } from "../failures/backoff.ts";
import type { RetryEntry, RetryState } from "../messages/reduction-job.ts";

/**
 * What to do with a job that could not start for a reason that is not the script's fault (data
 * file unreadable, output folder not writable, interpreter missing): try again after a capped,
 * doubling delay, up to `attempts` tries, then give up with the whole history. A pure decision.
 */
export interface RetryPolicy extends Backoff {
  /** Tries in all, the first included; then the job fails with the history. */
  attempts: number;
}

export type RetryPlan =
  | { kind: "retry"; delayMs: number; next: RetryState; message: string }
  | { kind: "give_up"; error: string; history: RetryEntry[] };

export function planRetry(
  previous: RetryState | undefined,
  deliveries: number,
  failure: { at: Date; host: string; problem: string },
  policy: RetryPolicy,
): RetryPlan {
  const attempt = previous?.attempt ?? 1;
  const history = [
    ...(previous?.history ?? []),
    { attempt, at: failure.at.toISOString(), host: failure.host, problem: failure.problem },
  ];
  if (attempt >= policy.attempts) {
    const lines = history.map((h) => `  ${h.attempt}. ${h.at} on ${h.host}: ${h.problem}`);
    return {
      kind: "give_up",
      error: `REDUCTION: gave up after ${attempt} attempt${attempt > 1 ? "s" : ""}: ${failure.problem}\n\nattempts:\n${lines.join("\n")}`,
      history,
    };
  }
  const delayMs = backoffDelay(policy, attempt);
  return {
    kind: "retry",
    delayMs,
    next: { attempt: attempt + 1, deliveries: (previous?.deliveries ?? 0) + deliveries, history },
    message: `${failure.problem} (attempt ${attempt} of ${policy.attempts}; trying again in ${formatDelay(delayMs)})`,
  };
}

function formatDelay(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 6000) / 10} min`;
}

/** What a full disk or an exceeded quota says, in a system error code or a program's message. */
const DISK_FULL = /No space left on device|Disk quota exceeded|\bENOSPC\b|\bEDQUOT\b/i;

/** True for the system error codes of a full disk or an exceeded quota. */
export function isDiskFullCode(code: unknown): boolean {
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * Whether a job that ran failed because of the machine rather than the script, and why in words:
 * the executor's own problem (a log write failed, the log's filesystem is full), else — for a script that failed — the last
 * line of its stderr that says the disk is full or over quota. Null: the script's own failure
 * (or success). Such a job is retried like one that could not start. Pure.
 */
export function infrastructureFault(
  executorProblem: string | null,
  failedStderr: string | null,
): string | null {
  if (executorProblem) return executorProblem;
  if (failedStderr === null) return null;
  const lines = failedStderr.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] ?? "").trim();
    if (DISK_FULL.test(line))
      return `the disk is full or over quota (the script said: ${line.length > 300 ? `${line.slice(0, 300)}…` : line})`;
  }
  return null;
}
