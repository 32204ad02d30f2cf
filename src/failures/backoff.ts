/**
 * How long to wait before attempt `attempt` (1 = the first retry): `initialMs`, doubling (or
 * `factor`) each time, capped at `maxMs`. One formula for every retry in the system — message
 * redelivery, reconnects, database outages, job retries, restarts of a failed part — so the
 * behaviour is the same everywhere and tested once.
 */
export interface Backoff {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** The longest delay, in ms. */
  maxMs: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
}

export function backoffDelay(policy: Backoff, attempt: number): number {
  const steps = Math.max(0, Math.floor(attempt) - 1);
  const grown = policy.initialMs * (policy.factor ?? 2) ** steps;
  return Math.min(policy.maxMs, Number.isFinite(grown) ? grown : policy.maxMs);
}

/** Resolves after `ms` (for retry loops; tests wait on conditions, never on this). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
