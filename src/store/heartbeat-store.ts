import { daemonId, type HeartbeatMessage } from "../messages/heartbeat.ts";
import type { SqlDatabase } from "./state-database.ts";

/**
 * How a daemon looks from its last heartbeat. Judged when read (not stored), by the reader's clock
 * against the recorder's `last_seen_at`, so senders' clocks do not matter.
 * - `ok`: heard from within `stale_seconds`.
 * - `stale`: silent for longer than `stale_seconds` (SNS WebMon shows yellow after 15 s): busy, slow
 *   or cut off from the transport; it may come back.
 * - `dead`: silent for longer than `dead_seconds`: crashed, killed or its host is down.
 * - `stopped`: its last heartbeat said it stopped cleanly (status `"stopped"`), however long ago.
 * A daemon goes ok ↔ stale → dead (→ ok again if it is heard from), or any → stopped; a restarted
 * daemon has a new pid and so a new row.
 */
export type DaemonState = "ok" | "stale" | "dead" | "stopped";

/**
 * How long a daemon may be silent before it is stale, and dead, judged by its own pace: a daemon
 * that says how often it beats (`interval_seconds`, ours) is stale after three missed beats, one
 * that does not (an SNS agent beats every 30 s) after three of `foreignIntervalSeconds`; never
 * sooner than `staleSeconds`, and dead never sooner than `deadSeconds` nor before it is stale.
 * A claimed interval longer than `foreignIntervalSeconds` counts as that. Without
 * `foreignIntervalSeconds`, a daemon that does not say is judged by `staleSeconds` alone.
 */
export function silenceLimits(
  intervalSeconds: number | null,
  options: Pick<DaemonListOptions, "staleSeconds" | "deadSeconds" | "foreignIntervalSeconds">,
): { staleSeconds: number; deadSeconds: number } {
  // A heartbeat is a message anybody on the broker can send: its claimed pace never makes a daemon
  // look alive for longer than an SNS agent's would (which would hold the sweeper off its jobs).
  const foreign = options.foreignIntervalSeconds ?? null;
  const claimed =
    intervalSeconds !== null && foreign !== null ? Math.min(intervalSeconds, foreign) : intervalSeconds;
  const interval = claimed ?? foreign;
  const staleSeconds = Math.max(options.staleSeconds, interval === null ? 0 : 3 * interval);
  return { staleSeconds, deadSeconds: Math.max(options.deadSeconds, staleSeconds + (interval ?? 0)) };
}

/** The state of a daemon whose last heartbeat is `ageMs` old and had `status`. */
export function daemonState(
  ageMs: number,
  status: string,
  staleSeconds: number,
  deadSeconds: number,
): DaemonState {
  if (status === "stopped") return "stopped";
  if (ageMs > deadSeconds * 1000) return "dead";
  if (ageMs > staleSeconds * 1000) return "stale";
  return "ok";
}

/**
 * Records a heartbeat: one row per daemon (`<src_name>:<role>:<pid>`), the last heartbeat wins.
 * `now` (the recorder's clock) becomes `last_seen_at`.
 */
export async function recordHeartbeat(
  database: SqlDatabase,
  beat: HeartbeatMessage,
  now: number,
): Promise<void> {
  const pid = Number(beat.pid);
  await database.db
    .insertInto("heartbeats")
    .values({
      daemon: daemonId(beat.src_name, beat.role, pid),
      src_name: beat.src_name,
      role: beat.role,
      pid,
      status: beat.status,
      body: JSON.stringify(beat),
      first_seen_at: now,
      last_seen_at: now,
    })
    .onConflict((oc) =>
      oc.column("daemon").doUpdateSet((eb) => ({
        status: eb.ref("excluded.status"),
        body: eb.ref("excluded.body"),
        last_seen_at: eb.ref("excluded.last_seen_at"),
      })),
    )
    .execute();
}

/** A daemon as `autoreduce status` shows it. */
export interface DaemonView {
  daemon: string;
  src_name: string;
  role: string;
  pid: number;
  /** `worker`, `coordinator`, `listener`, `web`; null for a daemon that is not ours (an SNS agent). */
  kind: string | null;
  version: string | null;
  status: string;
  state: DaemonState;
  /** Seconds since its last heartbeat was recorded. */
  age_seconds: number;
  first_seen_at: string;
  last_seen_at: string;
  started_at: string | null;
  /** The part's lifecycle state (starting, running, draining, stopped, failed); null if not sent. */
  part_state: string | null;
  /** Times the part was restarted after a failure (by `serve`); null if not sent. */
  restarts: number | null;
  /** The first line of the part's last failure; null if none. */
  last_error: string | null;
  /** Worker: job ids running at its last heartbeat. */
  running: string[] | null;
  /** Worker: job ids it holds waiting for a slot at its last heartbeat. */
  waiting: string[] | null;
  /** Worker: reductions it runs at once. */
  slots: number | null;
  /** Worker: queues it takes jobs from. */
  queues: string[] | null;
}

export interface DaemonListOptions {
  staleSeconds: number;
  deadSeconds: number;
  /**
   * The beat interval assumed for a daemon whose heartbeats do not say theirs (SNS agents: 30 s);
   * see `silenceLimits`. Absent: such daemons are judged by `staleSeconds` alone.
   */
  foreignIntervalSeconds?: number;
  /**
   * Daemons not heard from for longer than this are left out (rows are kept). Default one day:
   * every restart makes a new row, and old ones would bury the live daemons. Null: list them all.
   */
  hideAfterSeconds?: number | null;
}

export const HIDE_AFTER_SECONDS = 24 * 60 * 60;

/** Daemons by role and host, with their state as of `now`. */
export async function listDaemons(
  database: SqlDatabase,
  now: number,
  options: DaemonListOptions,
): Promise<DaemonView[]> {
  const hideAfter = options.hideAfterSeconds === undefined ? HIDE_AFTER_SECONDS : options.hideAfterSeconds;
  let query = database.db.selectFrom("heartbeats").selectAll();
  if (hideAfter !== null) query = query.where("last_seen_at", ">=", now - hideAfter * 1000);
  const rows = await query.orderBy("role").orderBy("src_name").orderBy("last_seen_at", "desc").execute();
  return rows.map((row) => {
    const ageMs = Math.max(0, now - row.last_seen_at);
    const body = parseBody(row.body);
    const interval = typeof body.interval_seconds === "number" ? body.interval_seconds : null;
    const limits = silenceLimits(interval, options);
    return {
      daemon: row.daemon,
      src_name: row.src_name,
      role: row.role,
      pid: row.pid,
      kind: stringOr(body.kind),
      version: stringOr(body.version),
      status: row.status,
      state: daemonState(ageMs, row.status, limits.staleSeconds, limits.deadSeconds),
      age_seconds: Math.round(ageMs / 100) / 10,
      first_seen_at: new Date(row.first_seen_at).toISOString(),
      last_seen_at: new Date(row.last_seen_at).toISOString(),
      started_at: stringOr(body.started_at),
      part_state: stringOr(body.part_state),
      restarts: typeof body.restarts === "number" ? body.restarts : null,
      last_error: stringOr(body.last_error),
      running: Array.isArray(body.running) ? body.running.map(String) : null,
      waiting: Array.isArray(body.waiting) ? body.waiting.map(String) : null,
      slots: typeof body.slots === "number" ? body.slots : null,
      queues: Array.isArray(body.queues) ? body.queues.map(String) : null,
    };
  });
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function stringOr(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
