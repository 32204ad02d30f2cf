import { backoffDelay } from "../failures/backoff.ts";

/** How `serve` restarts a part that failed (`supervision` in the config). */
export interface RestartPolicy {
  /** Failures within `windowMs` after which the part is given up (and `serve` exits 1). */
  maxFailures: number;
  windowMs: number;
  /** Delay before the first restart; it doubles with each failure in the window, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

/** What to do after a failure: restart after a delay, or give up. */
export type RestartDecision = { restart: true; delayMs: number } | { restart: false; failures: number };

/**
 * Pure: given the times of a part's failures (epoch ms, the newest included) and `now`, restart
 * after a doubling delay, or give up once `maxFailures` fell within the window. Failures older
 * than the window are forgotten, so a part that fails once a day is restarted forever.
 */
export function restartDecision(
  failures: readonly number[],
  now: number,
  policy: RestartPolicy,
): RestartDecision {
  const recent = failures.filter((t) => now - t <= policy.windowMs).length;
  if (recent >= policy.maxFailures) return { restart: false, failures: recent };
  const delayMs = backoffDelay({ initialMs: policy.initialDelayMs, maxMs: policy.maxDelayMs }, recent);
  return { restart: true, delayMs };
}

/** No restarts: a one-part command fails at once, and its service manager restarts it. */
export const NO_RESTARTS: RestartPolicy = {
  maxFailures: 1,
  windowMs: Number.POSITIVE_INFINITY,
  initialDelayMs: 0,
  maxDelayMs: 0,
};
