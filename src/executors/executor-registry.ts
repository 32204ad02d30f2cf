/**
 * The executors a worker can run its jobs through, by name (`worker.executor`): name → factory.
 * Only `local` exists now; `ssh` and `slurm` will be added here, and then chosen per route. An
 * unknown name is a configuration error, found when the configuration is read.
 */
import { EXECUTOR_KINDS, type ExecutorKind } from "../config/executor-kinds.ts";
import { RefusedError } from "../failures/refused-error.ts";
import type { Executor } from "./executor.ts";
import { LocalExecutor } from "./local-executor.ts";

/** Makes a new executor of one kind. */
export type ExecutorFactory = () => Executor;

const factories: Readonly<Record<ExecutorKind, ExecutorFactory>> = {
  local: () => new LocalExecutor(),
};

/** Names of the executors that exist, for config validation and error messages. */
export function executorKinds(): string[] {
  return [...EXECUTOR_KINDS];
}

/** `worker.executor` names no executor that exists. A configuration error: no retry helps. */
export class UnknownExecutorError extends RefusedError {
  override readonly name = "UnknownExecutorError";
  constructor(readonly kind: string) {
    super(`unknown executor: ${kind} (known: ${executorKinds().join(", ")})`);
  }
}

/** A new executor of the named kind; throws `UnknownExecutorError` for a name not in the registry. */
export function createExecutor(kind: string): Executor {
  const factory = Object.hasOwn(factories, kind) ? factories[kind as ExecutorKind] : undefined;
  if (!factory) throw new UnknownExecutorError(kind);
  return factory();
}
