import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { daemonId, type HeartbeatMessage, HeartbeatMessageSchema } from "../messages/heartbeat.ts";
import { InvalidMessageError, parseMessage } from "../messages/message-error.ts";
import { daemonState, listDaemons, recordHeartbeat } from "../store/heartbeat-store.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import type { Transport } from "../transport/transport.ts";
import { ChangePublisher } from "./change-publisher.ts";
import {
  type DaemonSnapshot,
  daemonChanged,
  isOutdated,
  snapshotOfBeat,
  snapshotOfView,
} from "./daemon-changes.ts";

export interface HeartbeatRecorderDeps {
  transport: Transport;
  database: SqlDatabase;
  config: Config;
  log: Logger;
  /** The clock (default `Date.now`). */
  now?: () => number;
  /** How often daemons' states are judged again, to publish ok → stale → dead (default 1000 ms). */
  checkIntervalMs?: number;
}

/** Records heartbeats in the `heartbeats` table; `record` takes this process's own directly. */
export interface HeartbeatRecorder {
  record(beat: HeartbeatMessage): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Subscribes to `queues.heartbeat` and records every valid heartbeat — ours and SNS agents' — for
 * `autoreduce status`. Runs where the coordinator runs (it owns the database). The topic is not
 * persistent and the next beat comes soon, so an invalid heartbeat is logged and dropped, and one
 * that cannot be written is logged and not retried: none goes to the error queue.
 *
 * Publishes daemon changes on the change feed: a daemon that appears, changes state or changes
 * the jobs it runs. Silence is not a message, so states are also judged again every
 * `checkIntervalMs` to notice ok → stale → dead.
 */
export async function startHeartbeatRecorder(deps: HeartbeatRecorderDeps): Promise<HeartbeatRecorder> {
  const { database, log, config } = deps;
  const now = deps.now ?? Date.now;
  const { stale_seconds: staleSeconds, dead_seconds: deadSeconds } = config.heartbeat;
  const feed = new ChangePublisher(deps.transport, config, log);
  const known = new Map<string, DaemonSnapshot>();
  const observe = async (after: DaemonSnapshot) => {
    const before = known.get(after.daemon);
    if (isOutdated(before, after)) return;
    known.set(after.daemon, after);
    if (daemonChanged(before, after)) await feed.publish({ ...after, previous_state: before?.state ?? null });
  };
  const listed = async () =>
    (
      await listDaemons(database, now(), {
        staleSeconds,
        deadSeconds,
        foreignIntervalSeconds: config.heartbeat.foreign_interval_seconds,
      })
    ).map(snapshotOfView);
  for (const snapshot of await listed()) known.set(snapshot.daemon, snapshot);

  const record = async (beat: HeartbeatMessage) => {
    const at = now();
    await recordHeartbeat(database, beat, at);
    const state = daemonState(0, beat.status, staleSeconds, deadSeconds);
    await observe(snapshotOfBeat(beat, daemonId(beat.src_name, beat.role, Number(beat.pid)), state, at));
  };
  const subscription = await deps.transport.subscribe(config.queues.heartbeat, async (message) => {
    let beat: HeartbeatMessage;
    try {
      beat = parseMessage(HeartbeatMessageSchema, message.body);
    } catch (e) {
      if (!(e instanceof InvalidMessageError)) throw e;
      log.warn({ reason: e.reason, body: message.body.slice(0, 500) }, "heartbeat ignored");
      return;
    }
    try {
      await record(beat);
    } catch (e) {
      log.warn({ err: e, src_name: beat.src_name, role: beat.role }, "heartbeat not recorded");
    }
  });

  let checking: Promise<void> = Promise.resolve();
  let failing = false; // while the database is down, one warning, not one per check
  const timer = setInterval(() => {
    checking = checking
      .then(async () => {
        for (const snapshot of await listed()) await observe(snapshot);
        failing = false;
      })
      .catch((e: unknown) => {
        log[failing ? "debug" : "warn"]({ err: e }, "daemon states not checked");
        failing = true;
      });
  }, deps.checkIntervalMs ?? 1000);
  timer.unref();
  return {
    record,
    async stop() {
      clearInterval(timer);
      await checking;
      await subscription.unsubscribe();
      await feed.flush();
    },
  };
}
