/**
 * Runs an async task on request, never twice at once: a request made while the task runs
 * makes it run once more afterwards. Consumers use it so that any number of wake-ups cost at
 * most one look at the database at a time.
 */
export class CoalescedRunner {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (e: unknown) => void,
  ) {}

  request(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.task()
      .catch(this.onError)
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }

  /** No more runs; resolves when the one under way (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
