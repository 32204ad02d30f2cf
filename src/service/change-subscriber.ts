import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { type ChangeEvent, ChangeEventSchema } from "../messages/change-event.ts";
import { InvalidMessageError, parseMessage } from "../messages/message-error.ts";
import type { Subscription, Transport } from "../transport/transport.ts";

/** Events of one publisher were missed: re-read the state from the database. */
export interface ChangeGap {
  /** The publisher whose events were missed. */
  source: string;
  /** The `seq` expected next, and the one that came. */
  expected: number;
  received: number;
}

export interface ChangeSubscriberOptions {
  log: Logger;
  /**
   * Called (before the event that shows it) when a publisher's `seq` jumps: events were lost
   * (this subscriber or the broker was away, or a send failed). Re-read what is shown from the
   * database. A subscriber that reconnects is told nothing by the topic: it re-reads then too.
   */
  onGap?: (gap: ChangeGap) => void;
}

/**
 * Subscribes to the change feed (`queues.changes`) and hands each valid event to `handler`, in the
 * order received. An event that is not valid is logged and ignored; a handler that throws is
 * logged; neither stops the subscription.
 */
export async function subscribeChanges(
  transport: Transport,
  config: Config,
  handler: (event: ChangeEvent) => void | Promise<void>,
  options: ChangeSubscriberOptions,
): Promise<Subscription> {
  const { log } = options;
  const next = new Map<string, number>();
  return transport.subscribe(config.queues.changes, async (message) => {
    let event: ChangeEvent;
    try {
      event = parseMessage(ChangeEventSchema, message.body);
    } catch (e) {
      if (!(e instanceof InvalidMessageError)) throw e;
      log.warn({ reason: e.reason, body: message.body.slice(0, 500) }, "change event ignored");
      return;
    }
    const expected = next.get(event.source);
    if (expected !== undefined && event.seq > expected)
      options.onGap?.({ source: event.source, expected, received: event.seq });
    next.set(event.source, Math.max(expected ?? 0, event.seq + 1));
    try {
      await handler(event);
    } catch (e) {
      log.warn({ err: e, subject: event.subject, seq: event.seq }, "change event handler failed");
    }
  });
}
