/**
 * A fault of something the code depends on — the database, the broker, a disk, the network, a
 * host — and not of the input. **A retry can help**: a handler that meets one keeps its message
 * (it is delivered again, or the outage is waited out), and a job that meets one is retried with
 * backoff. Subclasses say which dependency failed and carry what an operator needs to find it.
 *
 * Catch this base, never a regex over messages: `catch (e) { if (e instanceof InfrastructureError) … }`.
 */
export abstract class InfrastructureError extends Error {
  /** Always true: waiting and trying again may succeed. */
  readonly retryable = true as const;
}

/** True for an error that says "try again later" (an InfrastructureError, or one marked retryable). */
export function isRetryable(error: unknown): boolean {
  return (
    error instanceof InfrastructureError ||
    (typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === true)
  );
}
