import {
  Client,
  type IFrame,
  type IMessage,
  type IPublishParams,
  ReconnectionTimeMode,
  type StompHeaders,
  type StompSubscription,
  Versions,
} from "@stomp/stompjs";
import { InfrastructureError } from "../../failures/infrastructure-error.ts";
import { RefusedError } from "../../failures/refused-error.ts";
import { TransportUnavailableError } from "../transport.ts";
import { type BrokerAddress, formatBroker } from "./broker-list.ts";
import { type Flavour, resolveFlavour } from "./flavour.ts";
import { StompSocket } from "./tcp-socket.ts";

export interface ConnectionSettings {
  brokers: BrokerAddress[];
  login: string | undefined;
  passcode: string | undefined;
  flavour: "auto" | Flavour;
  heartbeatMs: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  onError: (error: unknown, context: string) => void;
  onConnectionChange: (state: ConnectionChange, detail: string) => void;
}

/**
 * What happened to the connection, for logs: `connected`; `disconnected` (lost without being
 * asked to: a fault, reconnecting); `closed` (ended by `close()`, as every command does on exit).
 */
export type ConnectionChange = "connected" | "disconnected" | "closed";

/** A TCP connection that does not become a STOMP session within this is given up and retried. */
const CONNECT_TIMEOUT_MS = 10_000;
/** While no broker answers, a failed attempt is reported at most this often (the first always). */
const FAILURE_REPORT_INTERVAL_MS = 60_000;
/** `close()` waits this long for the broker's DISCONNECT receipt before dropping the socket. */
const DISCONNECT_TIMEOUT_MS = 5_000;

/** The connection a frame was sent on closed before the broker answered it. */
export class ConnectionLostError extends InfrastructureError {
  override readonly name = "ConnectionLostError";
}

/**
 * The broker answered a frame with an ERROR frame (the message says why: access denied, an
 * invalid destination). Sending the same frame again gets the same answer; a broker that drops
 * the connection afterwards shows up as a ConnectionLostError, which is retried.
 */
export class BrokerRefusedError extends RefusedError {
  override readonly name = "BrokerRefusedError";
}

/** Told about every session as it opens and as it ends. */
export interface SessionListener {
  opened(session: Session): void;
  lost(session: Session): void;
}

interface PendingReceipt {
  generation: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * One STOMP session, valid until the TCP connection under it closes. Everything done on a
 * session checks that it is still the live one first, so that a handler that finishes after a
 * reconnect never acknowledges on the new connection a message the old one delivered (the broker
 * gives that message again anyway).
 */
export class Session {
  private markEnded: () => void = () => {};
  /** Resolves when this session's connection has closed. */
  readonly ended = new Promise<void>((resolve) => {
    this.markEnded = resolve;
  });

  constructor(
    private readonly connection: StompConnection,
    private readonly client: Client,
    readonly generation: number,
    readonly flavour: Flavour,
    readonly broker: BrokerAddress,
  ) {}

  /** Called by the connection when the socket under this session has closed. */
  end(): void {
    this.markEnded();
  }

  get alive(): boolean {
    return this.connection.isLive(this);
  }

  /** Sends a frame without waiting for the broker. */
  publish(params: IPublishParams): void {
    this.assertAlive();
    this.client.publish(params);
  }

  /** Sends a frame and resolves when the broker's RECEIPT for it arrives. */
  publishWithReceipt(params: IPublishParams, timeoutMs: number): Promise<void> {
    this.assertAlive();
    const receipt = this.connection.nextReceiptId();
    const confirmed = this.connection.expectReceipt(
      this,
      receipt,
      timeoutMs,
      `the send to ${params.destination}`,
    );
    this.client.publish({ ...params, headers: { ...params.headers, receipt } });
    return confirmed;
  }

  /**
   * Subscribes on this session. `confirmed` resolves on the broker's receipt, or when this session
   * ends first (the subscription is then made again on the next one); it never rejects: a refusal
   * or a missing receipt goes to `onError`.
   */
  subscribe(
    destination: string,
    onMessage: (message: IMessage) => void,
    headers: StompHeaders,
    timeoutMs: number,
  ): { subscription: StompSubscription; confirmed: Promise<void> } {
    this.assertAlive();
    const receipt = this.connection.nextReceiptId();
    const confirmed = this.connection
      .expectReceipt(this, receipt, timeoutMs, `the subscription to ${destination}`)
      .catch((e: unknown) => {
        if (!(e instanceof ConnectionLostError)) this.connection.report(e, `subscribing to ${destination}`);
      });
    const subscription = this.client.subscribe(destination, onMessage, { ...headers, receipt });
    return { subscription, confirmed };
  }

  /**
   * Runs `frames` between BEGIN and COMMIT, synchronously, so that the broker applies all of them
   * or (if the connection drops before the COMMIT arrives) none. There is no receipt: a lost
   * COMMIT rolls back, which leaves the message unacknowledged and delivered again.
   */
  transaction(frames: (transactionId: string) => void): void {
    this.assertAlive();
    const tx = this.client.begin();
    try {
      frames(tx.id);
    } catch (e) {
      tx.abort();
      throw e;
    }
    tx.commit();
  }

  private assertAlive(): void {
    if (!this.alive) throw new ConnectionLostError(`the connection to ${formatBroker(this.broker)} is gone`);
  }
}

/**
 * The STOMP connection of one transport: connects in the background, rotating through the
 * broker list on each attempt with a delay doubling from `reconnectInitialMs` to
 * `reconnectMaxMs`, and reconnects after every loss for as long as it is open. Heart-beats both
 * ways notice a broker that went silent without closing the connection.
 */
export class StompConnection {
  private readonly client: Client;
  private generation = 0;
  private live: Session | null = null;
  private attempts = 0;
  private target: BrokerAddress;
  private lastFailure = "";
  private lastFailureReport = 0;
  private failuresSinceReport = 0;
  private attemptReported = false;
  private closing = false;
  private receiptNo = 0;
  private readonly listeners = new Set<SessionListener>();
  private readonly waiters = new Set<{ resolve: (s: Session) => void; reject: (e: Error) => void }>();
  private readonly receipts = new Map<string, PendingReceipt>();
  private settleFirstAttempt: () => void = () => {};
  /** Resolves when the first connection attempt has succeeded or failed. */
  readonly firstAttempt = new Promise<void>((resolve) => {
    this.settleFirstAttempt = resolve;
  });

  constructor(private readonly settings: ConnectionSettings) {
    const first = settings.brokers[0];
    if (!first) throw new Error("no STOMP broker given");
    this.target = first;
    const connectHeaders: StompHeaders = {};
    if (settings.login !== undefined) connectHeaders.login = settings.login;
    if (settings.passcode !== undefined) connectHeaders.passcode = settings.passcode;
    this.client = new Client({
      webSocketFactory: () => this.nextSocket(),
      connectHeaders,
      // 1.2 only: it escapes line breaks and colons in header values, and both brokers speak it.
      stompVersions: new Versions([Versions.V1_2]),
      heartbeatIncoming: settings.heartbeatMs,
      heartbeatOutgoing: settings.heartbeatMs,
      reconnectDelay: Math.max(1, settings.reconnectInitialMs),
      maxReconnectDelay: Math.max(settings.reconnectInitialMs, settings.reconnectMaxMs),
      reconnectTimeMode: ReconnectionTimeMode.EXPONENTIAL,
      connectionTimeout: CONNECT_TIMEOUT_MS,
      // A socket to a dead host may never finish closing politely: drop it at once.
      discardWebsocketOnCommFailure: true,
      debug: () => {},
    });
    this.client.onConnect = (frame: IFrame) => this.onConnected(frame);
    this.client.onWebSocketClose = () => this.onSocketClosed();
    this.client.onWebSocketError = (event: unknown) => {
      this.lastFailure = describeSocketError(event);
    };
    this.client.onStompError = (frame: IFrame) => this.onBrokerError(frame);
    this.client.onHeartbeatLost = () => {
      this.lastFailure = `no heart-beat from the broker for ${2 * settings.heartbeatMs} ms`;
    };
    // A message for a subscription that was just stopped: not acknowledged, so the broker keeps it.
    this.client.onUnhandledMessage = () => {};
  }

  /** Starts connecting in the background. */
  start(): void {
    this.client.activate();
  }

  isLive(session: Session): boolean {
    return this.live === session;
  }

  /** The live session; waits for one until `deadline` (epoch ms), then TransportUnavailableError. */
  session(deadline: number, purpose: string): Promise<Session> {
    if (this.closing) return Promise.reject(new Error("the transport is closed"));
    if (this.live) return Promise.resolve(this.live);
    return new Promise<Session>((resolve, reject) => {
      const waiter = {
        resolve: (s: Session) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(s);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(e);
        },
      };
      const waitMs = Math.max(0, deadline - Date.now());
      const timer = setTimeout(
        () => waiter.reject(new TransportUnavailableError(`${purpose}: ${this.describeOutage(waitMs)}`)),
        waitMs,
      );
      this.waiters.add(waiter);
    });
  }

  /** Tells `listener` about the live session now (if any) and every later one. */
  addListener(listener: SessionListener): () => void {
    this.listeners.add(listener);
    if (this.live) listener.opened(this.live);
    return () => this.listeners.delete(listener);
  }

  /** Passes an error to the transport's `onError`. */
  report(error: unknown, context: string): void {
    this.settings.onError(error, context);
  }

  nextReceiptId(): string {
    return `autoreduce-${++this.receiptNo}`;
  }

  /**
   * Resolves when the broker's RECEIPT `receipt` arrives on `session`. Rejects with
   * ConnectionLostError if the session ends first, BrokerRefusedError if the broker answers with
   * an ERROR frame naming the receipt, TransportUnavailableError after `timeoutMs`.
   */
  expectReceipt(session: Session, receipt: string, timeoutMs: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.receipts.delete(receipt);
        reject(
          new TransportUnavailableError(
            `${what}: no receipt from ${formatBroker(session.broker)} within ${Math.round(timeoutMs / 1000)} s`,
          ),
        );
      }, timeoutMs);
      const settle = (error?: Error) => {
        clearTimeout(timer);
        this.receipts.delete(receipt);
        if (error) reject(error);
        else resolve();
      };
      this.receipts.set(receipt, { generation: session.generation, resolve: () => settle(), reject: settle });
      this.client.watchForReceipt(receipt, () => this.receipts.get(receipt)?.resolve());
    });
  }

  /** Sends DISCONNECT (whose receipt means every earlier frame was processed) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const waiter of [...this.waiters]) waiter.reject(new Error("the transport is closed"));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), DISCONNECT_TIMEOUT_MS);
    });
    const stuck = await Promise.race([this.client.deactivate().then(() => false), timedOut]);
    clearTimeout(timer);
    if (stuck) await this.client.deactivate({ force: true });
    this.failReceipts(null, new ConnectionLostError("the transport was closed"));
  }

  private nextSocket(): StompSocket {
    this.attemptReported = false;
    const brokers = this.settings.brokers;
    this.target = brokers[this.attempts++ % brokers.length] ?? this.target;
    return new StompSocket(this.target.host, this.target.port);
  }

  private onConnected(frame: IFrame): void {
    const server = frame.headers.server;
    const { flavour, note } = resolveFlavour(this.settings.flavour, server);
    const session = new Session(this, this.client, ++this.generation, flavour, this.target);
    this.live = session;
    this.lastFailure = "";
    this.failuresSinceReport = 0;
    this.lastFailureReport = 0;
    const where = formatBroker(this.target);
    this.settings.onConnectionChange("connected", `connected to ${where} (${server ?? "unknown server"})`);
    if (note) this.settings.onError(new Error(note), `connecting to ${where}`);
    this.settleFirstAttempt();
    for (const waiter of [...this.waiters]) waiter.resolve(session);
    for (const listener of [...this.listeners]) {
      try {
        listener.opened(session);
      } catch (e) {
        this.settings.onError(e, `restoring a subscription on ${where}`);
      }
    }
  }

  private onSocketClosed(): void {
    const lost = this.live;
    const where = formatBroker(this.target);
    if (lost) {
      this.live = null;
      lost.end();
      this.failReceipts(lost.generation, new ConnectionLostError(`the connection to ${where} closed`));
      for (const listener of [...this.listeners]) listener.lost(lost);
      const why = this.lastFailure ? `: ${this.lastFailure}` : "";
      this.lastFailure = "";
      if (this.closing) this.settings.onConnectionChange("closed", `connection to ${where} closed`);
      else
        this.settings.onConnectionChange(
          "disconnected",
          `lost the connection to ${where}${why}; reconnecting`,
        );
      return;
    }
    this.settleFirstAttempt();
    this.attemptFailed();
  }

  /** A connection attempt failed: reported now if it is the first in a while. Once per attempt. */
  private attemptFailed(): void {
    if (this.closing || this.attemptReported) return;
    this.attemptReported = true;
    this.failuresSinceReport++;
    const now = Date.now();
    if (now - this.lastFailureReport < FAILURE_REPORT_INTERVAL_MS) return;
    const times = this.failuresSinceReport > 1 ? ` (${this.failuresSinceReport} failed attempts)` : "";
    this.settings.onError(
      new TransportUnavailableError(
        `cannot connect to ${formatBroker(this.target)}: ${this.lastFailure || "connection closed"}${times}`,
      ),
      "connecting to the broker (retrying)",
    );
    this.lastFailureReport = now;
    this.failuresSinceReport = 0;
  }

  private onBrokerError(frame: IFrame): void {
    const text = [frame.headers.message, frame.body.trim()].filter(Boolean).join(": ") || "ERROR frame";
    const receipt = frame.headers["receipt-id"];
    const pending = receipt === undefined ? undefined : this.receipts.get(receipt);
    if (pending) {
      pending.reject(new BrokerRefusedError(`the broker refused it: ${text}`));
      return;
    }
    if (!this.live) {
      this.lastFailure = `the broker refused the connection: ${text}`;
      this.settleFirstAttempt();
      this.attemptFailed();
      return;
    }
    this.settings.onError(new BrokerRefusedError(text), `ERROR frame from ${formatBroker(this.target)}`);
  }

  private failReceipts(generation: number | null, error: Error): void {
    for (const pending of [...this.receipts.values()])
      if (generation === null || pending.generation === generation) pending.reject(error);
  }

  private describeOutage(waitedMs: number): string {
    const list = this.settings.brokers.map(formatBroker).join(", ");
    const last = this.lastFailure ? `; last error: ${this.lastFailure}` : "";
    return `no connection to a broker (${list}) within ${Math.round(waitedMs / 1000)} s${last}`;
  }
}

/** TCPWrapper reports `{ type: "Error", message: <Node error> }`; a WebSocket an Event. */
function describeSocketError(event: unknown): string {
  if (event && typeof event === "object" && "message" in event) {
    const inner = (event as { message: unknown }).message;
    if (inner instanceof Error) return inner.message;
    if (typeof inner === "string") return inner;
  }
  return "socket error";
}
