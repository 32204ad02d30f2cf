import type { RetryEntry, RetryState } from "../messages/reduction-job.ts";

/**
 * What to do with a job that could not start for a reason that is not the script's fault (data
 * file unreadable, output folder not writable, interpreter missing): try again after a capped,
 * doubling delay, up to `attempts` tries, then give up with the whole history. A pure decision.
 */
export interface RetryPolicy {
  attempts: number;
  initialMs: number;
  maxMs: number;
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
  const delayMs = Math.min(policy.maxMs, policy.initialMs * 2 ** (attempt - 1));
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
