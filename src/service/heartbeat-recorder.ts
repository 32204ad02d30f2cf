import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { type HeartbeatMessage, HeartbeatMessageSchema } from "../messages/heartbeat.ts";
import { InvalidMessageError, parseMessage } from "../messages/message-error.ts";
import { recordHeartbeat } from "../store/heartbeat-store.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import type { Transport } from "../transport/transport.ts";

export interface HeartbeatRecorderDeps {
  transport: Transport;
  database: SqlDatabase;
  config: Config;
  log: Logger;
  /** The clock (default `Date.now`). */
  now?: () => number;
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
 */
export async function startHeartbeatRecorder(deps: HeartbeatRecorderDeps): Promise<HeartbeatRecorder> {
  const { database, log } = deps;
  const now = deps.now ?? Date.now;
  const record = (beat: HeartbeatMessage) => recordHeartbeat(database, beat, now());
  const subscription = await deps.transport.subscribe(deps.config.queues.heartbeat, async (message) => {
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
  return {
    record,
    stop: () => subscription.unsubscribe(),
  };
}
