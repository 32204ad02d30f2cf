import type { Executor } from "../executors/executor.ts";
import { createExecutor } from "../executors/executor-registry.ts";

/**
 * A worker's executors by name: the one of `worker.executor` from the start, each other one
 * (`worker.executors`) when a job first names it. Which names a job may use is decided by
 * `executor-choice.ts` at acceptance; this only holds the instances.
 */
export class WorkerExecutors {
  private readonly byName = new Map<string, Executor>();

  constructor(
    /** `worker.executor`. */
    readonly defaultName: string,
    /** The executor for the default name (tests pass one); default: a new one from the registry. */
    defaultExecutor: Executor = createExecutor(defaultName),
  ) {
    this.byName.set(defaultName, defaultExecutor);
  }

  /** The executor of that name (absent: the default), made on first use. */
  get(name: string | undefined): Executor {
    const key = name ?? this.defaultName;
    let executor = this.byName.get(key);
    if (!executor) {
      executor = createExecutor(key);
      this.byName.set(key, executor);
    }
    return executor;
  }

  /** Closes every executor made. */
  async close(): Promise<void> {
    await Promise.all([...this.byName.values()].map((e) => e.close()));
  }
}
