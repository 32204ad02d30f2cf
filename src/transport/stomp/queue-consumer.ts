import { randomUUID } from "node:crypto";
import type { IMessage, StompSubscription } from "@stomp/stompjs";
import { deadLetterReason } from "../dead-letter-reason.ts";
import { type IncomingMessage, type MessageHandler, ORIGINAL_DESTINATION_HEADER } from "../transport.ts";
import { routeDelayed } from "./delayed-delivery.ts";
import { prefetchHeaders } from "./flavour.ts";
import {
  DEAD_LETTERED_AT_HEADER,
  DELIVERIES_HEADER,
  deliveryCountOf,
  ID_HEADER,
  messageIdOf,
  REASON_HEADER,
  userHeaders,
} from "./message-headers.ts";
import type { Session, SessionListener, StompConnection } from "./stomp-connection.ts";

export interface QueueConsumerOptions {
  destination: string;
  deadLetterTo: string;
  prefetch: number;
  maxDeliveries: number;
  retryDelayMs: (deliveryCount: number) => number;
  /** How long the first SUBSCRIBE may wait for its receipt. */
  confirmTimeoutMs: number;
  onError: (error: unknown, context: string) => void;
}

/** A message as delivered on one session (its ACK is only valid on that session). */
interface Delivery {
  session: Session;
  frame: IMessage;
}

let subscriptionNo = 0;

/**
 * One subscription to a queue: subscribed again on every new session, at most `prefetch`
 * handlers at once (the broker's prefetch is the same number, so it holds back the rest),
 * acknowledged (`client-individual`) only after the handler resolves.
 *
 * A handler that rejects: its message is sent again as a copy, to the same queue, with the same
 * id, the failed deliveries counted in a header and a delay of `retryDelayMs`, and the original
 * acknowledged, both in one STOMP transaction, so a crash in between cannot lose or duplicate it
 * (STOMP has no delayed redelivery of its own: NACK on ActiveMQ means "poison", on RabbitMQ
 * "requeue at once"). After `maxDeliveries` failures the copy goes to the dead-letter queue.
 */
export class QueueConsumer implements SessionListener {
  private readonly subscriptionId = `autoreduce-queue-${++subscriptionNo}`;
  private readonly buffered: Delivery[] = [];
  private readonly running = new Set<Promise<void>>();
  private current: { session: Session; subscription: StompSubscription } | null = null;
  private stopped = false;
  private detach: () => void = () => {};
  /** Resolves when the latest SUBSCRIBE is confirmed (or its session ended). */
  confirmed: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: StompConnection,
    private readonly handler: MessageHandler,
    private readonly options: QueueConsumerOptions,
  ) {}

  get active(): number {
    return this.running.size;
  }

  start(): void {
    this.detach = this.connection.addListener(this);
  }

  opened(session: Session): void {
    if (this.stopped) return;
    const { subscription, confirmed } = session.subscribe(
      this.options.destination,
      (frame) => this.arrived(session, frame),
      {
        id: this.subscriptionId,
        ack: "client-individual",
        ...prefetchHeaders(session.flavour, this.options.prefetch),
      },
      this.options.confirmTimeoutMs,
    );
    this.current = { session, subscription };
    this.confirmed = confirmed;
  }

  lost(session: Session): void {
    if (this.current?.session === session) this.current = null;
    // Not yet started: the broker delivers them again (to us after the reconnect, or to another).
    for (let i = this.buffered.length - 1; i >= 0; i--)
      if (this.buffered[i]?.session === session) this.buffered.splice(i, 1);
  }

  /**
   * Stops taking messages: waits for the running handlers (whose acknowledgements must precede
   * the UNSUBSCRIBE: ActiveMQ hands a consumer's unacknowledged messages to others as soon as it
   * is gone, and RabbitMQ refuses an ACK for a subscription it no longer knows), then gives back
   * what arrived meanwhile and unsubscribes.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running]);
    const current = this.current;
    this.current = null;
    if (current?.session.alive) {
      try {
        // RabbitMQ keeps a cancelled consumer's unacknowledged messages until the connection
        // closes: requeue them now. (ActiveMQ requeues them itself; its NACK would mean poison.)
        if (current.session.flavour === "rabbitmq")
          for (const delivery of this.buffered)
            if (delivery.session === current.session) delivery.frame.nack();
        current.subscription.unsubscribe();
      } catch (e) {
        this.options.onError(e, `unsubscribing from ${this.options.destination}`);
      }
    }
    this.buffered.length = 0;
    this.detach();
  }

  private arrived(session: Session, frame: IMessage): void {
    this.buffered.push({ session, frame });
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.options.prefetch) {
      const delivery = this.buffered.shift();
      if (!delivery) return;
      if (!delivery.session.alive) continue;
      const job = this.handle(delivery).finally(() => {
        this.running.delete(job);
        this.pump();
      });
      this.running.add(job);
    }
  }

  private async handle(delivery: Delivery): Promise<void> {
    const { destination, maxDeliveries } = this.options;
    const raw = delivery.frame.headers;
    const message: IncomingMessage = {
      id: messageIdOf(raw),
      destination,
      body: delivery.frame.body,
      headers: userHeaders(raw),
      deliveryCount: deliveryCountOf(raw),
    };
    if (message.deliveryCount > maxDeliveries) {
      // Its last delivery was cut short (the consumer died): do not risk another crash.
      this.settle(delivery, message, () =>
        this.deadLetter(delivery, message, `not acknowledged after ${maxDeliveries} deliveries`),
      );
      return;
    }
    try {
      await this.handler(message);
    } catch (error) {
      this.options.onError(error, `handling message ${message.id} from ${destination}`);
      const reason = deadLetterReason(error, message.deliveryCount, maxDeliveries);
      this.settle(delivery, message, () =>
        reason !== null ? this.deadLetter(delivery, message, reason) : this.retry(delivery, message),
      );
      return;
    }
    this.settle(delivery, message, () => delivery.frame.ack());
  }

  /**
   * Runs a settling step if the message's session is still the live one. If it is not, the
   * broker has already taken the message back and will deliver it again: settling it on the new
   * session would be wrong (and is refused by the broker).
   */
  private settle(delivery: Delivery, message: IncomingMessage, step: () => void): void {
    if (!delivery.session.alive) {
      this.options.onError(
        new Error(
          `the connection was lost while message ${message.id} was handled; the broker delivers it again`,
        ),
        `settling a message from ${this.options.destination}`,
      );
      return;
    }
    try {
      step();
    } catch (e) {
      this.options.onError(
        e,
        `settling message ${message.id} from ${this.options.destination} (it comes again)`,
      );
    }
  }

  /** The copy for the next delivery, and the original's ACK, in one transaction. */
  private retry(delivery: Delivery, message: IncomingMessage): void {
    const session = delivery.session;
    const route = routeDelayed(
      session.flavour,
      this.options.destination,
      this.options.retryDelayMs(message.deliveryCount),
    );
    session.transaction((transaction) => {
      session.publish({
        destination: route.destination,
        body: message.body,
        headers: {
          ...message.headers,
          ...route.headers,
          persistent: "true",
          [ID_HEADER]: message.id,
          [DELIVERIES_HEADER]: String(message.deliveryCount),
          transaction,
        },
      });
      delivery.frame.ack({ transaction });
    });
  }

  /** The dead letter and the original's ACK, in one transaction. */
  private deadLetter(delivery: Delivery, message: IncomingMessage, reason: string): void {
    const session = delivery.session;
    session.transaction((transaction) => {
      session.publish({
        destination: this.options.deadLetterTo,
        body: message.body,
        headers: {
          ...message.headers,
          persistent: "true",
          [ID_HEADER]: randomUUID(),
          [REASON_HEADER]: reason,
          [ORIGINAL_DESTINATION_HEADER]: this.options.destination,
          [DEAD_LETTERED_AT_HEADER]: String(Date.now()),
          transaction,
        },
      });
      delivery.frame.ack({ transaction });
    });
  }
}
