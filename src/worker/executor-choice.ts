/**
 * Which executor runs a job at this worker: the one its route named (the job's `executor`), if
 * it is one of this worker's own (`worker.executor`, `worker.executors`), else none — the job is
 * refused. No name: the worker's `worker.executor`. A pure decision, table-tested; the worker
 * never takes an executor's settings from a message, only picks among its own by name.
 */
export type ExecutorChoice = { kind: "use"; name: string } | { kind: "refuse"; reason: string };

/** The executors a worker has: its default and the others it may use. */
export interface OwnExecutors {
  /** `worker.executor`. */
  default: string;
  /** `worker.executors` (the default is always allowed). */
  others: readonly string[];
}

export function chooseExecutor(requested: string | undefined, own: OwnExecutors): ExecutorChoice {
  if (requested === undefined) return { kind: "use", name: own.default };
  if (requested === own.default || own.others.includes(requested)) return { kind: "use", name: requested };
  const known = [own.default, ...own.others.filter((o) => o !== own.default)].join(", ");
  return {
    kind: "refuse",
    reason: `the job's route names executor ${JSON.stringify(requested)}, which this worker does not run (its executors: ${known}; worker.executor, worker.executors)`,
  };
}

/** This worker's executors, from its configuration. */
export function ownExecutors(worker: { executor: string; executors: readonly string[] }): OwnExecutors {
  return { default: worker.executor, others: worker.executors };
}
