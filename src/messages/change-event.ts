import { z } from "zod";
import type { JobStatus } from "./job-status.ts";

/**
 * The change feed: one message on `queues.changes` (default `/topic/AUTOREDUCE.CHANGES`) for every
 * committed state change of a job and every change of a daemon's heartbeat state, so that a web
 * process on any machine can push it to browsers without polling the database.
 *
 * The topic is not persistent: a subscriber that was away misses what was published meanwhile.
 * It notices from `seq` (a jump from one `source`) or from its own reconnect, and recovers by
 * re-reading the state it shows from the database (jobs with `updated_at` at or after the last one
 * it saw; `autoreduce status`'s daemons), then applying events again. Events of one job are
 * published in the order of their commits; `updated_at` never goes back for one job, so an event
 * older than the state shown for its job is stale.
 *
 * Not to be confused with the embedded transport's internal wake-up signal
 * (`transport/embedded/change-feed.ts`).
 */

// Unknown fields are dropped, not refused: a newer publisher may add some.

/** Fields every change event has. */
const Common = {
  /** Identifies the publishing process (a fresh id at each start); `seq` counts from 1 within it. */
  source: z.string().min(1),
  /** 1, 2, 3 … per `source`: a jump means events were missed (re-read the state). */
  seq: z.number().int().positive(),
  /** When the publisher handed the event to the transport, just after the commit (epoch ms). */
  published_at: z.number(),
};

/** A job changed status. */
export const JobChangeEventSchema = z.object({
  ...Common,
  subject: z.literal("job"),
  /** What kind of job: `reduction` (the job of a run version); other kinds come with the jobs table. */
  kind: z.string().min(1),
  /** The job's id (as in job messages and `runs --json`). */
  job_id: z.string().min(1),
  /** Its status now (see coordinator/reduction-lifecycle.ts). */
  status: z.string().min(1),
  /** Its status before this change; null for a job just created. */
  previous_status: z.string().nullable(),
  /** Error or information text recorded with the change (null: none). */
  message: z.string().nullable(),
  /**
   * The job's `updated_at` as committed (epoch ms): the position to re-read from after a gap.
   * Never goes back for one job.
   */
  updated_at: z.number(),
  /** Reduction: the instrument (upper case). */
  instrument: z.string().optional(),
  /** Reduction: the run number. */
  run_number: z.number().int().nonnegative().optional(),
  /** Reduction: the version of the run (0 first). */
  version: z.number().int().nonnegative().optional(),
});
export type JobChangeEvent = z.infer<typeof JobChangeEventSchema>;

/** How a daemon looks from its heartbeats (store/heartbeat-store.ts `DaemonState`). */
export const DaemonStateSchema = z.enum(["ok", "stale", "dead", "stopped"]);

/** A daemon appeared, changed state (ok → stale → dead, → stopped, back to ok) or its running jobs changed. */
export const DaemonChangeEventSchema = z.object({
  ...Common,
  subject: z.literal("daemon"),
  /** `<src_name>:<role>:<pid>`, as in `autoreduce status`. */
  daemon: z.string().min(1),
  src_name: z.string().min(1),
  /** `postprocessing` (worker), `workflowmgr` (coordinator), `listener`, or an SNS daemon's role. */
  role: z.string().min(1),
  pid: z.number().int().nonnegative(),
  /** `worker`, `coordinator`, `listener`; null for a daemon that is not ours. */
  kind: z.string().nullable(),
  state: DaemonStateSchema,
  /** Its state before; null when it has just appeared. */
  previous_state: DaemonStateSchema.nullable(),
  /** Worker: job ids running at its last heartbeat; null when the heartbeat does not say. */
  running: z.array(z.string()).nullable(),
  /** When its last heartbeat was recorded (epoch ms, the recorder's clock). */
  last_seen_at: z.number(),
});
export type DaemonChangeEvent = z.infer<typeof DaemonChangeEventSchema>;

export const ChangeEventSchema = z.discriminatedUnion("subject", [
  JobChangeEventSchema,
  DaemonChangeEventSchema,
]);
export type ChangeEvent = z.infer<typeof ChangeEventSchema>;

/** A change as its producer states it; the publisher adds `source`, `seq` and `published_at`. */
export type ChangeFacts =
  | Omit<JobChangeEvent, keyof typeof Common>
  | Omit<DaemonChangeEvent, keyof typeof Common>;

/** A reduction changed status: what the coordinator states, before the publisher's envelope. */
export interface ReductionChange {
  instrument: string;
  run_number: number;
  version: number;
  status: JobStatus;
  /** The status before; null for a version just created. */
  previous_status: JobStatus | null;
  message: string | null;
  job_id: string;
  /** The reduction's `updated_at` as committed (epoch ms). */
  updated_at: number;
}

/** The change of a version just created (no status before it), for the run it belongs to. */
export function createdChange(
  run: { instrument: string; run_number: number },
  reduction: Pick<ReductionChange, "version" | "status" | "message" | "job_id" | "updated_at">,
): ReductionChange {
  return {
    instrument: run.instrument,
    run_number: run.run_number,
    version: reduction.version,
    status: reduction.status,
    previous_status: null,
    message: reduction.message,
    job_id: reduction.job_id,
    updated_at: reduction.updated_at,
  };
}

/** The change of a status transition just committed (what `applyReport` returns) of a version. */
export function transitionChange(
  run: { instrument: string; run_number: number },
  reduction: { version: number; job_id: string },
  transition: { current: { status: JobStatus }; next: { status: JobStatus }; updatedAt: number },
  message: string | null,
): ReductionChange {
  return {
    instrument: run.instrument,
    run_number: run.run_number,
    version: reduction.version,
    status: transition.next.status,
    previous_status: transition.current.status,
    message,
    job_id: reduction.job_id,
    updated_at: transition.updatedAt,
  };
}
