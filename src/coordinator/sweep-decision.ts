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
  /** Epoch ms: the last change of the reduction, its dispatch, its retry due time, its STARTED. */
  updated_at: number;
  dispatched_at: number | null;
  retry_at: number | null;
  started_at: number | null;
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
  /**
   * How long after its sending a job that has left its queue may go without a STARTED
   * (`sweeper.start_timeout_seconds`): past it, the job was taken and lost.
   */
  startTimeoutMs: number;
  /** How long a job may run, unlisted, before it is flagged (`sweeper.running_flag_minutes`); null: never. */
  runningFlagMs: number | null;
}

/**
 * What the sweeper does with one reduction:
 * - `held`: a live worker lists it (running, draining or waiting for a slot): leave it alone;
 * - `wait`: nobody lists it, but it cannot be resolved yet (see `reason`);
 * - `send`: its job message was never sent (the coordinator failed to reach the broker): send it;
 * - `requeue`: send the job again, as a new attempt;
 * - `error`: give up: mark it `error` with `reason`;
 * - `flag`: leave its status, but tell the operator why it looks stuck (on its timeline, once
 *   per attempt): it runs far longer than it should, or it was sent long ago and nobody can tell
 *   where it is.
 */
export type SweepAction =
  | { kind: "held"; by: string }
  | { kind: "wait"; reason: string }
  | { kind: "send"; reason: string }
  | { kind: "requeue"; reason: string }
  | { kind: "error"; reason: string }
  | { kind: "flag"; reason: string };

const alive = (w: SweptWorker) => w.state === "ok" || w.state === "stale";
const lists = (w: SweptWorker, job: string) =>
  (w.running?.includes(job) ?? false) || (w.waiting?.includes(job) ?? false);
const iso = (ms: number) => new Date(ms).toISOString();
const duration = (ms: number) =>
  ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;

/**
 * Decides about one unfinished reduction (pure). A job that a live worker lists is never
 * touched, whatever else is true. A job is resolved when the worker that listed it since it was
 * sent is gone (dead or stopped; after `settleMs`), or when no worker has listed it for
 * `graceMs`; in both cases only while its queue is empty (a job waiting there, or handed back
 * there by a broker after its worker died, will be taken by the next worker) and while no SNS
 * agent that could hold it unseen is alive, and while some worker's heartbeats arrive at all (a
 * broker outage silences every worker at once). Resolving re-queues it, or marks it `error` once
 * it had `maxAttempts` attempts.
 *
 * A job taken off its queue (the queue is empty, nobody lists it) with no STARTED for
 * `startTimeoutMs` after its sending is resolved too, even while SNS agents live: an agent sends
 * STARTED as soon as it starts a job, so its silence means the job was lost (an agent that acked
 * it and could not start it says nothing). A job that waits, but has been running or waiting
 * suspiciously long, is flagged instead (see `overdue`).
 */
export function sweepDecision(input: SweepInput): SweepAction {
  const action = decideAlone(input);
  return action.kind === "wait" ? (overdue(input) ?? action) : action;
}

/**
 * Why a job the sweeper leaves alone needs an operator's eye, or null: `running` for longer
 * than `runningFlagMs` with no live worker listing it (an SNS agent kills a reduction after its
 * own limit and reports ERROR; silence past that means something broke), or queued without a
 * STARTED past the start timeout where the broker cannot say whether it still waits (RabbitMQ).
 */
function overdue(input: SweepInput): SweepAction | null {
  const { reduction: r, now } = input;
  if (r.status === "running" && input.runningFlagMs !== null && r.started_at !== null) {
    const runFor = now - r.started_at;
    if (runFor >= input.runningFlagMs)
      return {
        kind: "flag",
        reason: `running for ${duration(runFor)} since its STARTED${r.host ? ` from ${r.host}` : ""} with no final report, and no live worker lists it (an SNS agent's heartbeat lists no jobs; the agent's own time limit is 60 min by default): check that host; cancel or re-run the run if the reduction is gone`,
      };
  }
  if (r.status === "queued" && r.dispatched_at !== null && input.queueDepth === null) {
    const silentFor = now - r.dispatched_at;
    if (silentFor >= input.startTimeoutMs)
      return {
        kind: "flag",
        reason: `no STARTED ${duration(silentFor)} after it was sent, and the broker cannot tell whether it still waits in its queue`,
      };
  }
  return null;
}

function decideAlone(input: SweepInput): SweepAction {
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
  const quietSince = Math.max(r.updated_at, r.dispatched_at ?? 0, r.retry_at ?? 0);
  const since = input.unheldSince;
  const unheldFor = (ms: number) => since !== null && now - since >= ms && now - quietSince >= ms;
  // Taken off the queue (it is empty) and never started: lost, whoever took it (a backlog in
  // the queue is not a loss, see above).
  if (r.status === "queued" && r.dispatched_at !== null && input.queueDepth === 0) {
    const silentFor = now - r.dispatched_at;
    if (silentFor >= input.startTimeoutMs && unheldFor(input.settleMs))
      return resolve(
        input,
        `no STARTED ${duration(silentFor)} after the job was sent (${iso(r.dispatched_at)}), and it is no longer in its queue: a worker took it and lost it`,
      );
  }
  const opaque = workers.filter((w) => alive(w) && w.running === null);
  if (opaque.some((w) => r.status !== "running" || w.src_name === r.host))
    return { kind: "wait", reason: "an SNS agent that may hold it is alive (its heartbeat lists no jobs)" };

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
  // An SNS agent lists nothing, but a job it STARTED runs on its host: when every agent there is
  // gone (node down) and nothing else lives there, nobody can finish it.
  const agentGone =
    r.status === "running" && r.host !== null && !workers.some((w) => alive(w) && w.src_name === r.host)
      ? workers
          .filter((w) => !alive(w) && w.running === null && w.src_name === r.host)
          .sort((a, b) => b.last_seen_at - a.last_seen_at)[0]
      : undefined;
  if (agentGone && unheldFor(input.settleMs)) {
    const how = agentGone.state === "stopped" ? "stopped" : "stopped sending heartbeats";
    return resolve(
      input,
      `SNS agent ${agentGone.src_name}:${agentGone.pid}, which ran it, ${how} at ${iso(agentGone.last_seen_at)}`,
    );
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

/**
 * Deliveries of a job so far. A worker's report counts its attempt, but a job sent and lost
 * before any report was delivered once all the same: it counts as one, so that re-sending it
 * makes attempt 2 and a late report of the lost copy is recognised as stale.
 */
export function deliveriesSoFar(r: Pick<SweptReduction, "attempts" | "dispatched_at">): number {
  return Math.max(r.attempts, r.dispatched_at !== null ? 1 : 0);
}

function resolve(input: SweepInput, why: string): SweepAction {
  const attempts = deliveriesSoFar(input.reduction);
  if (attempts >= input.maxAttempts)
    return {
      kind: "error",
      reason: `${why}; marked error after ${attempts} attempt${attempts === 1 ? "" : "s"}`,
    };
  return { kind: "requeue", reason: `${why}; the job was re-queued (attempt ${attempts + 1})` };
}
