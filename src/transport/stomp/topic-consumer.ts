import type { IMessage, StompSubscription } from "@stomp/stompjs";
import type { MessageHandler } from "../transport.ts";
import { messageIdOf, userHeaders } from "./message-headers.ts";
import type { Session, SessionListener, StompConnection } from "./stomp-connection.ts";

let subscriptionNo = 0;

/**
 * One subscription to a topic: automatic acknowledgement, no retries (a topic carries live
 * status, not work), handled one at a time in arrival order, and subscribed again on every new
 * session. What is published while the connection is down is missed, as by any topic subscriber
 * that is away.
 */
export class TopicConsumer implements SessionListener {
  private readonly subscriptionId = `autoreduce-topic-${++subscriptionNo}`;
  private current: { session: Session; subscription: StompSubscription } | null = null;
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private stopped = false;
  private detach: () => void = () => {};
  /** Resolves when the latest SUBSCRIBE is confirmed (or its session ended). */
  confirmed: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: StompConnection,
    private readonly destination: string,
    private readonly handler: MessageHandler,
    private readonly confirmTimeoutMs: number,
    private readonly onError: (error: unknown, context: string) => void,
  ) {}

  /** Handlers running or waiting to run. */
  get active(): number {
    return this.queued;
  }

  start(): void {
    this.detach = this.connection.addListener(this);
  }

  opened(session: Session): void {
    if (this.stopped) return;
    const { subscription, confirmed } = session.subscribe(
      this.destination,
      (frame) => this.arrived(frame),
      { id: this.subscriptionId, ack: "auto" },
      this.confirmTimeoutMs,
    );
    this.current = { session, subscription };
    this.confirmed = confirmed;
  }

  lost(session: Session): void {
    if (this.current?.session === session) this.current = null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const current = this.current;
    this.current = null;
    if (current?.session.alive) {
      try {
        current.subscription.unsubscribe();
      } catch (e) {
        this.onError(e, `unsubscribing from ${this.destination}`);
      }
    }
    this.detach();
    await this.chain;
  }

  private arrived(frame: IMessage): void {
    if (this.stopped) return;
    this.queued++;
    this.chain = this.chain.then(async () => {
      try {
        if (this.stopped) return;
        await this.handler({
          id: messageIdOf(frame.headers),
          destination: this.destination,
          body: frame.body,
          headers: userHeaders(frame.headers),
          deliveryCount: 1,
        });
      } catch (e) {
        this.onError(e, `handling a message from ${this.destination}`);
      } finally {
        this.queued--;
      }
    });
  }
}
