import type { ReductionStatus } from "../store/schema.ts";

/** An unfinished reduction as the sweeper sees it. */
export interface SweptReduction {
  /** The job's id, as workers list it in their heartbeats. */
  job_id: string;
  status: ReductionStatus;
  /** The host its last report came from (null: none yet). */
  host: string | null;
  /** Deliveries to a worker so far. */
  attempts: number;
  /** Epoch ms: the last change of the reduction, its dispatch, its retry due time. */
  updated_at: number;
  dispatched_at: number | null;
  retry_at: number | null;
}

/** A worker as its last heartbeat shows it (ours or an SNS post-processing agent). */
export interface SweptWorker {
  src_name: string;
  pid: number;
  /** `ok` and `stale` are alive (a stale worker may come back); `dead` and `stopped` are gone. */
  state: "ok" | "stale" | "dead" | "stopped";
  /** Epoch ms of its last heartbeat. */
  last_seen_at: number;
  /** Job ids running, and waiting for a slot, at its last heartbeat; null: its heartbeat does not say (SNS agent). */
  running: string[] | null;
  waiting: string[] | null;
}

export interface SweepInput {
  reduction: SweptReduction;
  workers: SweptWorker[];
  /** Messages waiting in the reduction's job queue; null: the transport cannot tell (RabbitMQ). */
  queueDepth: number | null;
  /** Since when (epoch ms) the sweeper has seen, on every sweep, no live worker list the job; null: it has not. */
  unheldSince: number | null;
  now: number;
  /** How long a job nobody lists is left alone (`sweeper.grace_seconds`). */
  graceMs: number;
  /**
   * How long live workers' heartbeats take to show a job they took (a few heartbeat intervals):
   * even a job whose worker is gone is left alone until nothing about it changed, and nobody
   * listed it, for this long, so a worker that has just taken it over is not overlooked.
   */
  settleMs: number;
  maxAttempts: number;
}

/**
 * What the sweeper does with one reduction:
 * - `held`: a live worker lists it (running, draining or waiting for a slot): leave it alone;
 * - `wait`: nobody lists it, but it cannot be resolved yet (see `reason`);
 * - `send`: its job message was never sent (the coordinator failed to reach the broker): send it;
 * - `requeue`: send the job again, as a new attempt;
 * - `error`: give up: mark it `error` with `reason`.
 */
export type SweepAction =
  | { kind: "held"; by: string }
  | { kind: "wait"; reason: string }
  | { kind: "send"; reason: string }
  | { kind: "requeue"; reason: string }
  | { kind: "error"; reason: string };

const alive = (w: SweptWorker) => w.state === "ok" || w.state === "stale";
const lists = (w: SweptWorker, job: string) =>
  (w.running?.includes(job) ?? false) || (w.waiting?.includes(job) ?? false);
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Decides about one unfinished reduction (pure). A job that a live worker lists is never
 * touched, whatever else is true. A job is resolved when the worker that listed it since it was
 * sent is gone (dead or stopped; after `settleMs`), or when no worker has listed it for
 * `graceMs`; in both cases only while its queue is empty (a job waiting there, or handed back
 * there by a broker after its worker died, will be taken by the next worker) and while no SNS
 * agent that could hold it unseen is alive, and while some worker's heartbeats arrive at all (a
 * broker outage silences every worker at once). Resolving re-queues it, or marks it `error` once
 * it had `maxAttempts` attempts.
 */
export function sweepDecision(input: SweepInput): SweepAction {
  const { reduction: r, workers, now, graceMs } = input;
  const holder = workers.find((w) => alive(w) && lists(w, r.job_id));
  if (holder) return { kind: "held", by: `${holder.src_name}:${holder.pid}` };
  if (r.status === "queued" && r.dispatched_at === null)
    return now - r.updated_at >= graceMs
      ? { kind: "send", reason: "its job message was never sent (the broker could not be reached); sent now" }
      : { kind: "wait", reason: "its job message is not sent yet (the coordinator sends it)" };
  if (r.status === "retrying" && r.retry_at !== null && now < r.retry_at + graceMs)
    return { kind: "wait", reason: `its retry is due at ${iso(r.retry_at)}` };
  // Heartbeats stop arriving for everyone when the broker is down; nothing is judged dead then.
  if (!workers.some((w) => w.state === "ok"))
    return { kind: "wait", reason: "no worker has been heard from lately (is the broker reachable?)" };
  if (input.queueDepth !== null && input.queueDepth > 0)
    return { kind: "wait", reason: `${input.queueDepth} message(s) wait in its queue; it may be one` };
  const opaque = workers.filter((w) => alive(w) && w.running === null);
  if (opaque.some((w) => r.status !== "running" || w.src_name === r.host))
    return { kind: "wait", reason: "an SNS agent that may hold it is alive (its heartbeat lists no jobs)" };

  const quietSince = Math.max(r.updated_at, r.dispatched_at ?? 0, r.retry_at ?? 0);
  const since = input.unheldSince;
  const unheldFor = (ms: number) => since !== null && now - since >= ms && now - quietSince >= ms;
  // A gone worker's list counts only if it is not older than the job's last sending: after a
  // re-queue, the dead worker that held the previous attempt says nothing about the new one.
  const gone = workers
    .filter((w) => !alive(w) && lists(w, r.job_id) && w.last_seen_at >= (r.dispatched_at ?? 0))
    .sort((a, b) => b.last_seen_at - a.last_seen_at)[0];
  // Without a queue depth (RabbitMQ) the broker may have given the job back unseen: grace only.
  if (gone && input.queueDepth === 0 && unheldFor(input.settleMs)) {
    const how = gone.state === "stopped" ? "stopped" : "stopped sending heartbeats";
    return resolve(input, `worker ${gone.src_name}:${gone.pid} ${how} at ${iso(gone.last_seen_at)}`);
  }
  // Judging by silence needs workers that say what they hold: on its host (it ran there), or,
  // for a job not started yet, anywhere alive. Otherwise (workers whose heartbeats are not
  // recorded here) nobody can tell, and a job is not run twice on a guess.
  const judges = workers.filter(
    (w) =>
      w.running !== null && (r.host !== null && r.status !== "queued" ? w.src_name === r.host : alive(w)),
  );
  if (judges.length === 0)
    return { kind: "wait", reason: "no worker that lists its jobs is known where it could be held" };
  if (!unheldFor(graceMs))
    return { kind: "wait", reason: "no live worker lists it; within the grace period" };
  const where = r.host ? ` (it was last reported from ${r.host})` : "";
  return resolve(input, `no live worker has held the job since ${iso(since ?? now)}${where}`);
}

function resolve(input: SweepInput, why: string): SweepAction {
  const { attempts } = input.reduction;
  if (attempts >= input.maxAttempts)
    return {
      kind: "error",
      reason: `${why}; marked error after ${attempts} attempt${attempts === 1 ? "" : "s"}`,
    };
  return { kind: "requeue", reason: `${why}; the job was re-queued (attempt ${attempts + 1})` };
}
