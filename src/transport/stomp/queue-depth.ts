import { randomUUID } from "node:crypto";
import { Client, type IMessage, type StompHeaders, Versions } from "@stomp/stompjs";
import { InfrastructureError } from "../../failures/infrastructure-error.ts";
import { TransportUnavailableError } from "../transport.ts";
import { type BrokerAddress, formatBroker } from "./broker-list.ts";
import { ConnectionLostError, type Session } from "./stomp-connection.ts";
import { StompSocket } from "./tcp-socket.ts";

/** The statistics plugin's reply-to, a temporary queue of the statistics connection. */
const REPLY_TO = "/temp-queue/autoreduce-statistics";
/** A missing statistics plugin shows as silence: give up on an answer after this. */
const STATISTICS_TIMEOUT_MS = 5_000;
/** After the statistics failed, count by browsing for this long before trying them again. */
const STATISTICS_RETRY_MS = 10 * 60_000;
/** The statistics connection is closed when it has not been used for this long. */
const IDLE_CLOSE_MS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** ActiveMQ could not (or would not) send its statistics; browsing still works. */
export class StatisticsUnavailableError extends InfrastructureError {
  override readonly name = "StatisticsUnavailableError";
}

/** RabbitMQ's STOMP plugin has no frame that reports a queue's length. */
export function rabbitDepthError(destination: string): TransportUnavailableError {
  return new TransportUnavailableError(
    `the depth of ${destination} is not available over RabbitMQ's STOMP plugin (STOMP has no frame for it); use the management UI or "rabbitmqctl list_queues"`,
  );
}

/**
 * Queue depths on ActiveMQ.
 *
 * First choice: the statistics plugin (`<statisticsBrokerPlugin/>`), which answers a message to
 * `ActiveMQ.Statistics.Destination.<NAME>` with the queue's `size` and `inflightCount`; the depth
 * is their difference (messages waiting, not those delivered and being handled). The answer is a
 * JMS MapMessage, which ActiveMQ renders for STOMP with XStream (`transformation: jms-map-json`).
 * A broker without XStream on its classpath (Debian's `activemq` package lacks it) fails the
 * whole connection instead of answering. So the request goes over a connection of its own,
 * never the one the subscriptions ride on.
 *
 * Fallback, when the statistics fail: browse the queue (`browser: true`) and count. It needs no
 * plugin, but also counts messages delivered to a consumer and not yet acknowledged. The failure
 * is reported once per `STATISTICS_RETRY_MS`, after which the statistics are tried again.
 */
export class ActiveMQDepths {
  private statisticsUnavailableUntil = 0;
  private channel: StatisticsChannel | null = null;
  private browseNo = 0;

  constructor(
    private readonly credentials: StompHeaders,
    private readonly onError: (error: unknown, context: string) => void,
  ) {}

  async depth(session: Session, name: string, timeoutMs: number): Promise<number> {
    if (Date.now() >= this.statisticsUnavailableUntil) {
      try {
        return await this.fromStatistics(session.broker, name, Math.min(timeoutMs, STATISTICS_TIMEOUT_MS));
      } catch (e) {
        if (!(e instanceof StatisticsUnavailableError)) throw e;
        this.statisticsUnavailableUntil = Date.now() + STATISTICS_RETRY_MS;
        this.onError(
          e,
          "reading a queue depth: counting by browsing instead (which includes messages being handled); give the broker its statistics plugin and XStream for exact depths",
        );
      }
    }
    return this.byBrowsing(session, name, timeoutMs);
  }

  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    await channel?.close();
  }

  private async fromStatistics(broker: BrokerAddress, name: string, timeoutMs: number): Promise<number> {
    if (this.channel && (this.channel.broken || this.channel.broker !== broker)) await this.close();
    let channel = this.channel;
    if (!channel) {
      const created = new StatisticsChannel(broker, this.credentials, () => {
        if (this.channel === created) this.channel = null;
      });
      this.channel = created;
      channel = created;
    }
    const replies = await channel.request(name, timeoutMs);
    const stats = replies.find((reply) => reply.destinationName === `queue://${name}`);
    if (!stats) return 0; // the broker does not know the queue: nothing was ever sent to it
    const size = Number(stats.size);
    const inflight = Number(stats.inflightCount ?? 0);
    if (!Number.isFinite(size))
      throw new StatisticsUnavailableError(`no size in ActiveMQ's statistics of ${name}`);
    return Math.max(0, size - (Number.isFinite(inflight) ? inflight : 0));
  }

  /** Counts the messages a queue browser sees; ActiveMQ ends the browse with `browser:end`. */
  private byBrowsing(session: Session, name: string, timeoutMs: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let count = 0;
      let finish: (error: Error | null) => void = () => {};
      const { subscription } = session.subscribe(
        `/queue/${name}`,
        (frame) => {
          if (frame.headers.browser === "end") finish(null);
          else count++;
        },
        { id: `autoreduce-browse-${++this.browseNo}`, browser: "true" },
        timeoutMs,
      );
      const timer = setTimeout(() => {
        const where = formatBroker(session.broker);
        const seconds = Math.round(timeoutMs / 1000);
        finish(
          new TransportUnavailableError(
            `browsing /queue/${name} on ${where} did not end within ${seconds} s`,
          ),
        );
      }, timeoutMs);
      let settled = false;
      finish = (error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (session.alive) {
          try {
            subscription.unsubscribe();
          } catch {}
        }
        if (error) reject(error);
        else resolve(count);
      };
      void session.ended.then(() => finish(new ConnectionLostError("the connection closed while browsing")));
    });
  }
}

interface PendingRequest {
  replies: Array<Record<string, unknown>>;
  resolve: (replies: Array<Record<string, unknown>>) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** A connection of its own to one broker, only for statistics requests. */
class StatisticsChannel {
  private readonly client: Client;
  private readonly ready: Promise<void>;
  private readonly pending = new Map<string, PendingRequest>();
  private idleTimer: NodeJS.Timeout | null = null;
  private connected = false;
  private brokerError = "";
  /** The connection closed: this channel is done. */
  broken = false;

  constructor(
    readonly broker: BrokerAddress,
    credentials: StompHeaders,
    private readonly onGone: () => void,
  ) {
    this.client = new Client({
      webSocketFactory: () => new StompSocket(broker.host, broker.port),
      connectHeaders: credentials,
      stompVersions: new Versions([Versions.V1_2]),
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      connectionTimeout: CONNECT_TIMEOUT_MS,
      discardWebsocketOnCommFailure: true,
      debug: () => {},
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.client.onConnect = () => {
        this.connected = true;
        this.client.subscribe(REPLY_TO, (frame) => this.reply(frame), { transformation: "jms-map-json" });
        resolve();
      };
      this.client.onStompError = (frame) => {
        this.brokerError = [frame.headers.message, frame.body.trim()].filter(Boolean).join(": ");
      };
      this.client.onWebSocketClose = () => {
        const wasConnected = this.connected;
        this.broken = true;
        this.connected = false;
        this.onGone();
        const where = formatBroker(broker);
        reject(
          new TransportUnavailableError(
            `cannot open a connection to ${where} for statistics${this.brokerError ? `: ${this.brokerError}` : ""}`,
          ),
        );
        const error = wasConnected
          ? new StatisticsUnavailableError(
              `ActiveMQ at ${where} closed the connection instead of answering a statistics request (a broker without XStream, e.g. Debian's package without libxstream-java in its lib folder, cannot send the answer over STOMP)${this.brokerError ? `: ${this.brokerError}` : ""}`,
            )
          : new TransportUnavailableError(`the statistics connection to ${where} failed`);
        for (const request of this.pending.values()) {
          clearTimeout(request.timer);
          request.reject(error);
        }
        this.pending.clear();
      };
    });
    this.ready.catch(() => {});
    this.client.activate();
  }

  /** Every statistics message the broker sends for `name` (none if it does not know the queue). */
  async request(name: string, timeoutMs: number): Promise<Array<Record<string, unknown>>> {
    this.keepAlive();
    await this.ready;
    const correlation = randomUUID();
    const answered = new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlation);
        reject(
          new StatisticsUnavailableError(
            `no statistics from ActiveMQ at ${formatBroker(this.broker)} within ${timeoutMs} ms: is <statisticsBrokerPlugin/> in activemq.xml?`,
          ),
        );
      }, timeoutMs);
      this.pending.set(correlation, { replies: [], resolve, reject, timer });
    });
    this.client.publish({
      destination: `/queue/ActiveMQ.Statistics.Destination.${name}`,
      body: "",
      headers: {
        "reply-to": REPLY_TO,
        "correlation-id": correlation,
        "ActiveMQ.Statistics.Destination.List.End.With.Null": "true",
        // Without the plugin the request would sit in that queue forever.
        expires: String(Date.now() + timeoutMs),
        persistent: "false",
      },
    });
    try {
      return await answered;
    } finally {
      this.keepAlive();
    }
  }

  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), 2_000);
    });
    const stuck = await Promise.race([this.client.deactivate().then(() => false), timedOut]);
    clearTimeout(timer);
    if (stuck) await this.client.deactivate({ force: true });
  }

  private keepAlive(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.pending.size > 0) return this.keepAlive();
      this.onGone();
      void this.close();
    }, IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  private reply(frame: IMessage): void {
    const request = this.pending.get(frame.headers["correlation-id"] ?? "");
    if (!request) return;
    const map = parseStatisticsMap(frame.body);
    if (Object.keys(map).length > 0) {
      request.replies.push(map);
      return;
    }
    // The empty map that ends the list (ActiveMQ.Statistics.Destination.List.End.With.Null).
    clearTimeout(request.timer);
    this.pending.delete(frame.headers["correlation-id"] ?? "");
    request.resolve(request.replies);
  }
}

/**
 * Reads XStream's JSON of a MapMessage: `{"map":{"entry":[{"string":"size","long":3},
 * {"string":["destinationName","queue://X"]}, ...]}}`; the end-of-list message is `{"map":""}`.
 */
export function parseStatisticsMap(body: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return {};
  }
  const map = isObject(document) ? document.map : undefined;
  if (!isObject(map)) return {};
  const entries = Array.isArray(map.entry) ? map.entry : [map.entry];
  const out: Record<string, unknown> = {};
  for (const entry of entries) {
    if (!isObject(entry)) continue;
    const key = entry.string;
    if (Array.isArray(key)) {
      if (typeof key[0] === "string") out[key[0]] = key[1];
    } else if (typeof key === "string") {
      const valueKey = Object.keys(entry).find((k) => k !== "string");
      if (valueKey) out[key] = entry[valueKey];
    }
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
