import { hostname } from "node:os";
import packageJson from "../../package.json" with { type: "json" };
import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { normalizeDestination } from "../messages/destinations.ts";
import {
  daemonId,
  type HeartbeatMessage,
  HeartbeatMessageSchema,
  type HeartbeatStatus,
  PingSchema,
} from "../messages/heartbeat.ts";
import { messageBody } from "../messages/message-body.ts";
import { InvalidMessageError, parseMessage } from "../messages/message-error.ts";
import type { Subscription, Transport } from "../transport/transport.ts";
import { PARTS, type PartName } from "./part-registry.ts";

/** Which part of the system is beating (one heartbeat per part, also when `serve` runs several). */
export type DaemonKind = PartName;

/**
 * The `role` each part announces, as declared in the part registry. A worker is SNS's
 * post-processing agent and says so, so that WebMon and SNS's own monitoring read it as one; the
 * SNS workflow manager announces no role (its `src_name` is `workflowmgr`), so the coordinator
 * takes that name as its role.
 */
export const ROLE_OF_KIND: Readonly<Record<DaemonKind, string>> = Object.fromEntries(
  PARTS.map((part) => [part.name, part.role]),
) as Record<DaemonKind, string>;

/** Who is beating: fixed for the life of the process. */
export interface DaemonIdentity {
  srcName: string;
  kind: DaemonKind;
  pid: number;
  startedAt: Date;
  intervalSeconds: number;
}

/** The heartbeat body of a daemon (pure: the caller supplies the details). */
export function heartbeatMessage(
  identity: DaemonIdentity,
  status: HeartbeatStatus,
  details: Record<string, unknown>,
): HeartbeatMessage {
  const role = ROLE_OF_KIND[identity.kind];
  return {
    ...details,
    src_name: identity.srcName,
    role,
    status,
    pid: String(identity.pid),
    daemon: daemonId(identity.srcName, role, identity.pid),
    kind: identity.kind,
    version: packageJson.version,
    started_at: identity.startedAt.toISOString(),
    interval_seconds: identity.intervalSeconds,
  };
}

export interface HeartbeatDeps {
  transport: Transport;
  config: Config;
  log: Logger;
  kind: DaemonKind;
  /** Extra fields of each heartbeat, read at each beat (worker: running, slots, queues). */
  details?: () => Record<string, unknown>;
  /**
   * Also hands each beat here. The process that records heartbeats records its own directly, so
   * that its last ("stopped") beat is not lost to its recorder stopping first.
   */
  record?: (beat: HeartbeatMessage) => Promise<void>;
  /** `src_name` (default: this machine's host name). */
  host?: string;
}

/** A running heartbeat; `stop` sends the last beat, with status `"stopped"`. */
export interface Heartbeat {
  stop(): Promise<void>;
}

/**
 * Publishes this daemon's heartbeat on `queues.heartbeat` at once and then every
 * `heartbeat.interval_seconds`, and answers pings on `queues.heartbeat_ping` by sending the
 * heartbeat (with the ping's own fields, as SNS does) to the ping's `reply_to`. A failed send or a
 * bad ping is logged and never stops the daemon. Timers do not keep the process alive.
 */
export async function startHeartbeat(deps: HeartbeatDeps): Promise<Heartbeat> {
  const { transport, config, log } = deps;
  const identity: DaemonIdentity = {
    srcName: deps.host ?? hostname(),
    kind: deps.kind,
    pid: process.pid,
    startedAt: new Date(),
    intervalSeconds: config.heartbeat.interval_seconds,
  };
  const beat = (status: HeartbeatStatus) => heartbeatMessage(identity, status, readDetails(deps));
  // While the transport is down, one warning, not one per beat.
  let failing = false;
  const send = async (destination: string, message: HeartbeatMessage, quiet = false) => {
    try {
      await transport.send(destination, { body: messageBody(HeartbeatMessageSchema, message) });
      return true;
    } catch (e) {
      log[quiet ? "debug" : "warn"]({ err: e, destination }, "heartbeat not sent");
      return false;
    }
  };
  const publish = async (status: HeartbeatStatus) => {
    const message = beat(status);
    try {
      await deps.record?.(message);
    } catch (e) {
      log.warn({ err: e }, "own heartbeat not recorded");
    }
    const sent = await send(config.queues.heartbeat, message, failing);
    if (sent && failing) log.info("heartbeats sent again");
    failing = !sent;
  };

  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  // Each beat is scheduled after the previous one is sent, so a slow transport never piles them up.
  const tick = () => {
    inFlight = publish("0").then(() => {
      if (stopped) return;
      timer = setTimeout(tick, config.heartbeat.interval_seconds * 1000);
      timer.unref();
    });
  };
  const forbidden = forbiddenReplyDestinations(config);
  const ping: Subscription = await transport.subscribe(config.queues.heartbeat_ping, async (message) => {
    const replyTo = validPing(message.body, forbidden, log);
    if (replyTo) await send(replyTo.destination, { ...replyTo.ping, ...beat("0") });
  });
  tick();
  log.debug({ kind: deps.kind, topic: config.queues.heartbeat }, "heartbeat started");

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
      await ping.unsubscribe();
      await publish("stopped");
    },
  };
}

function readDetails(deps: HeartbeatDeps): Record<string, unknown> {
  try {
    return deps.details?.() ?? {};
  } catch (e) {
    deps.log.warn({ err: e }, "heartbeat details could not be read; sent without them");
    return {};
  }
}

/**
 * Where a ping may not have its answer sent: the ping topic (every daemon would answer every
 * answer) and our other destinations (a ping must not put heartbeats into a work queue). The
 * heartbeat topic is allowed: an answer there is just one more heartbeat.
 */
export function forbiddenReplyDestinations(config: Config): Set<string> {
  const ours = Object.values(config.queues).map(normalizeDestination);
  const heartbeat = normalizeDestination(config.queues.heartbeat);
  return new Set(ours.filter((destination) => destination !== heartbeat));
}

/** The ping's answer destination, or null (logged) for a ping that cannot be answered. */
function validPing(
  body: string,
  forbidden: Set<string>,
  log: Logger,
): { destination: string; ping: Record<string, unknown> } | null {
  try {
    const ping = parseMessage(PingSchema, body);
    if (forbidden.has(normalizeDestination(ping.reply_to)))
      throw new InvalidMessageError(`reply_to: ${ping.reply_to} is one of our own destinations`);
    return { destination: ping.reply_to, ping };
  } catch (e) {
    if (!(e instanceof InvalidMessageError)) throw e;
    log.warn({ reason: e.reason, body: body.slice(0, 500) }, "ping ignored");
    return null;
  }
}

/**
 * A worker's heartbeat details: job ids running now, its slots and the queues it takes jobs from
 * (`worker.queues`, else `queues.reduction_data_ready`).
 */
export function workerDetails(worker: {
  status(): { running: string[]; waiting: string[]; slots: number; queues: string[]; executor: string };
}): Record<string, unknown> {
  const { running, waiting, slots, queues, executor } = worker.status();
  return { running, waiting, slots, queues, executor };
}
