import { randomUUID } from "node:crypto";
import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { type ChangeEvent, ChangeEventSchema, type ChangeFacts } from "../messages/change-event.ts";
import { messageBody } from "../messages/message-body.ts";
import type { Transport } from "../transport/transport.ts";

/**
 * Publishes change events on `queues.changes` (messages/change-event.ts), in the order `publish`
 * is called, numbering them 1, 2, 3 … under a `source` id of its own.
 *
 * Call `publish` after the change is committed. It never throws and the caller need not wait:
 * sends go out one after another behind the caller's back, so a slow broker does not hold up the
 * handler that made the change. A send that fails is logged and the event is lost — the numbering
 * goes on, so subscribers see the gap and re-read the state.
 */
export class ChangePublisher {
  /** Identifies this publisher in its events. */
  readonly source = randomUUID();
  private seq = 0;
  private tail: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(
    private readonly transport: Transport,
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /** Queues the event for sending; resolves once it was sent (or failed, logged). Never rejects. */
  publish(facts: ChangeFacts): Promise<void> {
    this.seq += 1;
    const event = { ...facts, source: this.source, seq: this.seq, published_at: Date.now() } as ChangeEvent;
    this.tail = this.tail.then(() => this.send(event));
    return this.tail;
  }

  /** Resolves when every event published so far was sent (or failed). */
  flush(): Promise<void> {
    return this.tail;
  }

  private async send(event: ChangeEvent): Promise<void> {
    const destination = this.config.queues.changes;
    try {
      // Built here, inside the catch: a malformed event is logged like a failed send.
      await this.transport.send(destination, { body: messageBody(ChangeEventSchema, event) });
      if (this.failing) this.log.info({ destination }, "change events sent again");
      this.failing = false;
    } catch (e) {
      // While the transport is down, one warning, not one per event.
      this.log[this.failing ? "debug" : "warn"](
        { err: e, destination, subject: event.subject, seq: event.seq },
        "change event not sent; subscribers will see a gap",
      );
      this.failing = true;
    }
  }
}
