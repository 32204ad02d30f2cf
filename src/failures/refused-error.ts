/**
 * Input that will not be accepted as it is: a malformed or forged message, a bad configuration,
 * an unsafe path, a request a person cannot make. **A retry cannot help**: the input goes to the
 * error queue (messages), the command exits 2 (configuration), the API answers 4xx — always with
 * `reason`, in words the sender can act on. Never retried, never dead-lettered by repetition.
 */
export abstract class RefusedError extends Error {
  /** Always false: the same input will be refused again. */
  readonly retryable = false as const;
  /** Why, in words the sender or an operator can act on (the message unless a subclass says more briefly). */
  readonly reason: string;

  constructor(message: string, options?: ErrorOptions & { reason?: string }) {
    super(message, options);
    this.reason = options?.reason ?? message;
  }
}
