import { parseDestination } from "../../messages/destinations.ts";
import type { Flavour } from "./flavour.ts";

/** Where a (possibly delayed) queue message is sent, and the headers that make the delay. */
export interface Route {
  destination: string;
  headers: Record<string, string>;
}

/** RabbitMQ parking queues are per delay value; rounding up to this keeps their number small. */
const PARKING_STEP_MS = 100;
/** An idle parking queue deletes itself after max(2 × its delay, this). */
const PARKING_MIN_EXPIRY_MS = 60_000;

/**
 * How to send a message to queue `destination` so that it is delivered no earlier than `delayMs`
 * from now.
 *
 * ActiveMQ: the scheduler's `AMQ_SCHEDULED_DELAY` header (the broker needs
 * `schedulerSupport="true"`, else it delivers at once).
 *
 * RabbitMQ has no delay without a plugin Debian does not package, so the message is parked in
 * the queue `<NAME>.delay.<ms>` with a per-message time-to-live; when it expires, RabbitMQ
 * dead-letters it through the default exchange to `<NAME>`. Notes:
 * - one parking queue per delay value, because a TTL is only acted on at the head of a queue
 *   (a long delay in front would hold back a shorter one behind it);
 * - the queue arguments (`x-dead-letter-*`, `x-expires`) are fixed when RabbitMQ first declares
 *   the queue and a SEND with different ones is refused, so they are a pure function of the
 *   queue name;
 * - `x-expires` deletes an idle parking queue; every SEND redeclares it and restarts that clock,
 *   and it is at least twice the delay, so a queue never vanishes with a message still parked;
 * - the delay is rounded up to a multiple of 100 ms: late by at most that, never early;
 * - RabbitMQ drops a dead-lettered message if `<NAME>` does not exist then (it exists once
 *   anybody has sent to it or subscribed to it, which is always so for our work queues).
 */
export function routeDelayed(flavour: Flavour, destination: string, delayMs: number): Route {
  if (!(delayMs > 0)) return { destination, headers: {} };
  if (flavour === "activemq") {
    return { destination, headers: { AMQ_SCHEDULED_DELAY: String(Math.ceil(delayMs)) } };
  }
  const ms = Math.ceil(delayMs / PARKING_STEP_MS) * PARKING_STEP_MS;
  const { name } = parseDestination(destination);
  return {
    destination: `/queue/${name}.delay.${ms}`,
    headers: {
      expiration: String(ms),
      "x-dead-letter-exchange": "",
      "x-dead-letter-routing-key": name,
      "x-expires": String(Math.max(2 * ms, PARKING_MIN_EXPIRY_MS)),
    },
  };
}
