import { z } from "zod";

/**
 * `status` of a heartbeat. `"0"`: running (SNS's value). `"stopped"`: the last heartbeat of a daemon
 * that stopped cleanly, so that `autoreduce status` tells a stop from a crash.
 */
export type HeartbeatStatus = "0" | "stopped";

/**
 * A heartbeat, as published on `queues.heartbeat` and sent in answer to a ping. The first four fields
 * are SNS's (an SNS agent's heartbeat has only those); the others are ours and optional, so that a
 * recorder also takes SNS agents' heartbeats. Unknown fields are kept (a ping answer echoes the ping).
 */
export const HeartbeatMessageSchema = z.looseObject({
  /** The host name. */
  src_name: z.string().min(1),
  /** `postprocessing` (worker), `workflowmgr` (coordinator), `listener`, `web`. */
  role: z.string().min(1),
  /** `"0"` while running; `"stopped"` in the last heartbeat of a clean stop. */
  status: z.string().min(1),
  /** The process id, as a string of digits like SNS's agent (`str(os.getpid())`); a number is taken too. */
  pid: z.union([z.string().regex(/^\d+$/, "a process id"), z.number().int().nonnegative()]),
  /** `<src_name>:<role>:<pid>`. */
  daemon: z.string().optional(),
  kind: z.string().optional(),
  /** Version of autoreduce the daemon runs. */
  version: z.string().optional(),
  /** When the daemon started (ISO 8601). */
  started_at: z.string().optional(),
  /** Seconds between its heartbeats. */
  interval_seconds: z.number().optional(),
  /** The part's lifecycle state (service/part-lifecycle.ts): starting, running, draining, stopped, failed. */
  part_state: z.string().optional(),
  /** Times the part was restarted after a failure since its process started. */
  restarts: z.number().int().nonnegative().optional(),
  /** The first line of the part's last failure; null if it never failed. */
  last_error: z.string().nullable().optional(),
  /** Worker: job ids running now. */
  running: z.array(z.string()).optional(),
  /** Worker: reductions it runs at once. */
  slots: z.number().optional(),
  /** Worker: queues it takes jobs from. */
  queues: z.array(z.string()).optional(),
});
export type HeartbeatMessage = z.infer<typeof HeartbeatMessageSchema>;

/** A ping on `queues.heartbeat_ping` (SNS DASMON's): answer with a heartbeat sent to `reply_to`. */
export const PingSchema = z.looseObject({
  reply_to: z.string().regex(/^\/(queue|topic)\/\S+$/, "a destination /queue/NAME or /topic/NAME"),
});

/** Identifies a daemon in heartbeats and in the `heartbeats` table. */
export function daemonId(srcName: string, role: string, pid: number | string): string {
  return `${srcName}:${role}:${pid}`;
}
