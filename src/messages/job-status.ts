/**
 * What a job is doing; the same for every kind of job (a reduction, a watch step, a trigger, a
 * live session), in the database, in reports' effects, on the change feed and in the API. The
 * allowed transitions are in coordinator/reduction-lifecycle.ts.
 * - `queued`: recorded and sent (or about to be sent) to a worker;
 * - `running`: a worker reported STARTED;
 * - `completed`: the script succeeded;
 * - `error`: the script failed, or the job gave up (the message says why);
 * - `disabled`: the instrument has no script;
 * - `skipped`: not run on purpose (a paused instrument, a placeholder experiment);
 * - `cancelled`: a person cancelled it;
 * - `retrying`: it could not start or failed for the machine's sake; a later attempt is due.
 */
export type JobStatus =
  | "queued"
  | "running"
  | "completed"
  | "error"
  | "disabled"
  | "skipped"
  | "cancelled"
  | "retrying";
