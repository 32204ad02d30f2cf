/**
 * The executors `worker.executor` may name: where a reduction runs. Only `local` (a process tree
 * on this machine) exists now; `ssh` and `slurm` join this list when their executors exist. The
 * registry in `executors/executor-registry.ts` must have a factory for each (its type says so).
 */
export const EXECUTOR_KINDS = ["local"] as const;

export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];

/** True when `name` is an executor kind this version has. */
export function isExecutorKind(name: string): name is ExecutorKind {
  return (EXECUTOR_KINDS as readonly string[]).includes(name);
}
