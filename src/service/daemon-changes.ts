import type { DaemonChangeEvent } from "../messages/change-event.ts";
import type { HeartbeatMessage } from "../messages/heartbeat.ts";
import type { DaemonState, DaemonView } from "../store/heartbeat-store.ts";

/** What the change feed says about a daemon (a change event without its publisher's fields). */
export type DaemonSnapshot = Omit<DaemonChangeEvent, "source" | "seq" | "published_at" | "previous_state">;

/**
 * Whether a daemon's new snapshot is news: it appeared, its state changed (ok → stale → dead,
 * → stopped, back to ok) or the jobs it runs changed. A later beat saying the same is not.
 */
export function daemonChanged(before: DaemonSnapshot | undefined, after: DaemonSnapshot): boolean {
  if (!before) return true;
  if (before.state !== after.state) return true;
  return !sameJobs(before.running, after.running);
}

/** Whether a snapshot read now is older than one already known (a read that raced a newer beat). */
export function isOutdated(before: DaemonSnapshot | undefined, after: DaemonSnapshot): boolean {
  return before !== undefined && after.last_seen_at < before.last_seen_at;
}

function sameJobs(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((job) => set.has(job));
}

/** A daemon as its heartbeat, just recorded at `now`, shows it: `ok`, or `stopped` for a last beat. */
export function snapshotOfBeat(
  beat: HeartbeatMessage,
  daemon: string,
  state: DaemonState,
  now: number,
): DaemonSnapshot {
  return {
    subject: "daemon",
    daemon,
    src_name: beat.src_name,
    role: beat.role,
    pid: Number(beat.pid),
    kind: beat.kind ?? null,
    state,
    running: beat.running ?? null,
    last_seen_at: now,
  };
}

/** A daemon as `listDaemons` shows it (its state judged by the reader's clock). */
export function snapshotOfView(view: DaemonView): DaemonSnapshot {
  return {
    subject: "daemon",
    daemon: view.daemon,
    src_name: view.src_name,
    role: view.role,
    pid: view.pid,
    kind: view.kind,
    state: view.state,
    running: view.running,
    last_seen_at: Date.parse(view.last_seen_at),
  };
}
