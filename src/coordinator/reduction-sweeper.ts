import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { transitionChange } from "../messages/change-event.ts";
import { ROLE_OF_KIND } from "../service/heartbeat.ts";
import { isDatabaseOutage } from "../store/database-outage.ts";
import { listDaemons } from "../store/heartbeat-store.ts";
import { applyReport } from "../store/reduction-store.ts";
import type { ReductionRow } from "../store/run-store.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { type UnfinishedReduction, unfinishedReductions } from "../store/unfinished-reductions.ts";
import type { Transport } from "../transport/transport.ts";
import type { ReductionChange } from "./coordinator.ts";
import { deliveriesSoFar, type SweepAction, type SweptWorker, sweepDecision } from "./sweep-decision.ts";

/** The run-event destination of the sweeper's decisions (a run's timeline shows them). */
export const SWEEPER_EVENT = "sweeper";

export interface ReductionSweeperDeps {
  config: Config;
  database: SqlDatabase;
  transport: Transport;
  log: Logger;
  /** Sends a reduction's job to its queue again (the coordinator's dispatch). */
  dispatch: (reduction: ReductionRow) => Promise<void>;
  /** Publishes a status change (the coordinator's change path). */
  changed: (change: ReductionChange) => void;
  /** The clock (default `Date.now`). */
  now?: () => number;
}

/**
 * Makes sure nothing stays `running` (or `queued`) for ever: every `sweeper.interval_seconds` it
 * looks at each unfinished reduction, the workers' last heartbeats and its queue's depth, and
 * re-queues (as a new attempt) or marks `error` the jobs whose worker is gone or that nobody has
 * held for `sweeper.grace_seconds` — see `sweepDecision`. Each change is a run event and goes
 * through the coordinator's change path. A sweep is put off while worker reports wait in their
 * queues (one of them may finish what looks abandoned), and a sweep that meets a database outage
 * forgets what it had seen: reports held back by the outage are handled before anything is
 * judged unheld again.
 */
export class ReductionSweeper {
  /** Job id → since when no live worker has listed it, on every sweep in a row. */
  private readonly unheld = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: ReductionSweeperDeps) {}

  /** Starts sweeping periodically (not at all when `sweeper.interval_seconds` is 0). */
  start(): void {
    const seconds = this.deps.config.sweeper.interval_seconds;
    if (seconds <= 0) return;
    const tick = () => {
      this.running = this.sweep().finally(() => {
        if (this.stopped) return;
        this.timer = setTimeout(tick, seconds * 1000);
        this.timer.unref();
      });
    };
    this.timer = setTimeout(tick, seconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One sweep; never throws (a failure is logged and the next sweep tries again). */
  async sweep(): Promise<void> {
    try {
      await this.sweepOnce();
    } catch (e) {
      this.unheld.clear();
      if (isDatabaseOutage(e)) this.deps.log.warn({ err: e }, "sweep skipped: database unreachable");
      else this.deps.log.error({ err: e }, "sweep failed");
    }
  }

  private async sweepOnce(): Promise<void> {
    const { config, database } = this.deps;
    const waiting = await this.reportsWaiting();
    if (waiting) {
      // A report in the backlog may finish what looks abandoned: judge once it is recorded.
      this.deps.log.debug({ queue: waiting }, "sweep put off: worker reports wait to be recorded");
      return;
    }
    const now = (this.deps.now ?? Date.now)();
    const reductions = await unfinishedReductions(database);
    const workers = await this.workers(now);
    const depths = new Map<string, number | null>();
    const seen = new Set<string>();
    for (const reduction of reductions) {
      if (this.stopped) return;
      seen.add(reduction.job_id);
      const queue = reduction.queue ?? config.queues.reduction_data_ready;
      if (!depths.has(queue)) depths.set(queue, await this.depth(queue));
      const action = sweepDecision({
        reduction,
        workers,
        queueDepth: depths.get(queue) ?? null,
        unheldSince: this.unheld.get(reduction.job_id) ?? null,
        now,
        graceMs: config.sweeper.grace_seconds * 1000,
        settleMs: 3 * config.heartbeat.interval_seconds * 1000,
        maxAttempts: config.sweeper.max_attempts,
        startTimeoutMs: config.sweeper.start_timeout_seconds * 1000,
        runningFlagMs:
          config.sweeper.running_flag_minutes === null ? null : config.sweeper.running_flag_minutes * 60_000,
      });
      if (action.kind === "held") this.unheld.delete(reduction.job_id);
      else if (!this.unheld.has(reduction.job_id)) this.unheld.set(reduction.job_id, now);
      if (action.kind === "requeue" || action.kind === "error") await this.resolve(reduction, action, now);
      if (action.kind === "flag") await this.flag(reduction, action.reason, now);
      if (action.kind === "send") {
        this.deps.log.warn({ job_id: reduction.job_id }, action.reason);
        await this.deps.dispatch(reduction);
      }
    }
    for (const job of this.unheld.keys()) if (!seen.has(job)) this.unheld.delete(job);
  }

  /** Workers (ours and SNS agents) by their last heartbeats. */
  private async workers(now: number): Promise<SweptWorker[]> {
    const { heartbeat } = this.deps.config;
    const daemons = await listDaemons(this.deps.database, now, {
      staleSeconds: heartbeat.stale_seconds,
      foreignIntervalSeconds: heartbeat.foreign_interval_seconds,
      deadSeconds: heartbeat.dead_seconds,
      hideAfterSeconds: null,
    });
    return daemons
      .filter((d) => d.kind === "worker" || (d.kind === null && d.role === ROLE_OF_KIND.worker))
      .map((d) => ({ ...d, last_seen_at: Date.parse(d.last_seen_at) }));
  }

  /** The first report queue with messages waiting, or null. */
  private async reportsWaiting(): Promise<string | null> {
    const q = this.deps.config.queues;
    for (const queue of [
      q.reduction_started,
      q.reduction_complete,
      q.reduction_error,
      q.reduction_disabled,
      q.reduction_retrying,
    ]) {
      if (((await this.depth(queue)) ?? 0) > 0) return queue;
    }
    return null;
  }

  /** Messages waiting in a queue; null when the transport cannot tell. */
  private async depth(queue: string): Promise<number | null> {
    try {
      return await this.deps.transport.depth(queue);
    } catch (e) {
      this.deps.log.debug({ err: e, queue }, "queue depth unknown to the sweeper");
      return null;
    }
  }

  /**
   * Tells the operator why a reduction looks stuck: a run event (once per status and attempt:
   * later sweeps find it recorded) and the reduction's message; its status stays.
   */
  private async flag(reduction: UnfinishedReduction, reason: string, now: number): Promise<void> {
    const event = {
      messageId: `flag:${reduction.job_id}:${reduction.status}:${reduction.attempts}`,
      destination: SWEEPER_EVENT,
      body: JSON.stringify({ job_id: reduction.job_id, action: "flag", reason }),
    };
    const result = await applyReport(
      this.deps.database,
      reduction.id,
      event,
      (current) =>
        current.status === reduction.status && current.attempts === reduction.attempts
          ? { status: current.status, fields: { message: reason } }
          : null,
      now,
    );
    if (!result?.next) return;
    this.deps.log.warn({ job_id: reduction.job_id, action: "flag" }, reason);
    this.deps.changed(transitionChange(reduction, reduction, { ...result, next: result.next }, reason));
  }

  /**
   * Records the decision as a run event and applies it if the reduction is still as it was
   * judged (a report that came in meanwhile wins); a re-queued job is then sent again.
   */
  private async resolve(
    reduction: UnfinishedReduction,
    action: Extract<SweepAction, { kind: "requeue" | "error" }>,
    now: number,
  ): Promise<void> {
    const { database, log } = this.deps;
    const requeue = action.kind === "requeue";
    const body = { job_id: reduction.job_id, action: action.kind, reason: action.reason };
    const event = {
      // One decision per attempt: a second coordinator sweeping the same job records nothing.
      messageId: `sweep:${reduction.job_id}:${reduction.status}:${reduction.attempts}`,
      destination: SWEEPER_EVENT,
      body: JSON.stringify(body),
    };
    const result = await applyReport(
      database,
      reduction.id,
      event,
      (current) => {
        if (current.status !== reduction.status || current.attempts !== reduction.attempts) return null;
        return requeue
          ? {
              status: "queued",
              fields: {
                attempts: deliveriesSoFar(current) + 1,
                dispatched_at: null,
                retry_at: null,
                message: action.reason,
              },
            }
          : { status: "error", fields: { finished_at: now, retry_at: null, message: action.reason } };
      },
      now,
    );
    if (!result?.next) return;
    this.unheld.delete(reduction.job_id);
    const after: ReductionRow = {
      ...result.current,
      ...result.next.fields,
      status: result.next.status,
    } as ReductionRow;
    log.warn({ job_id: reduction.job_id, action: action.kind }, action.reason);
    this.deps.changed(
      transitionChange(reduction, reduction, { ...result, next: result.next }, action.reason),
    );
    if (requeue) await this.deps.dispatch(after);
  }
}

/**
 * The job message of a reduction sent again by the sweeper: it says how many deliveries came
 * before, so that the worker numbers its reports as the reduction's next attempt (a report of an
 * earlier attempt is stale). The retry count stays at 1, so that the worker's job ledger sees
 * the same copy of the job as before: one that still runs elsewhere is waited for, not run twice.
 */
export function withEarlierAttempts<T extends object>(job: T, attempts: number): T {
  return attempts > 1 ? { ...job, retry: { attempt: 1, deliveries: attempts - 1, history: [] } } : job;
}
