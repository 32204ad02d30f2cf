import type { Config } from "../config/load-config.ts";
import { RefusedError } from "../failures/refused-error.ts";
import { deadLetterDestination, normalizeDestination, parseDestination } from "../messages/destinations.ts";
import {
  DEAD_LETTER_REASON_HEADER,
  ORIGINAL_DESTINATION_HEADER,
  type QueuedMessage,
  type Transport,
} from "./transport.ts";

/**
 * Dead letters and refused messages, for operators (`autoreduce dlq`, after Zocalo's dlq_check
 * and dlq_reinject). Where they are: `DLQ.<NAME>` beside every configured queue (a message that
 * failed `max_deliveries` times; the transport moves it there with `x-dead-letter-reason` and
 * `x-original-destination`), and the error queue (`queues.postprocess_error`: messages refused
 * as invalid, with `error`, `original_body` and `original_destination` in the body).
 */

/** Headers a dead letter gained on its way there; dropped when it is sent back. */
const DEAD_LETTER_HEADERS = [
  DEAD_LETTER_REASON_HEADER,
  ORIGINAL_DESTINATION_HEADER,
  "x-dead-lettered-at",
  "x-error-reason",
];
/** How many messages of one queue the commands look at. */
export const MOST_LOOKED_AT = 5_000;

/** A dead-letter or error queue could not be acted on as asked; nothing was changed. */
export class DeadLetterRefused extends RefusedError {
  override readonly name = "DeadLetterRefused";
}

/** The work queues of this configuration: every `queues.*` queue (not topics) and the worker's pools. */
export function workQueues(config: Config): string[] {
  const named = Object.values(config.queues).map(normalizeDestination);
  const pools = config.worker.queues.map(normalizeDestination);
  const errors = normalizeDestination(config.queues.postprocess_error);
  return [...new Set([...named, ...pools])].filter(
    (q) => parseDestination(q).kind === "queue" && q !== errors && !q.includes("{"),
  );
}

/** The dead-letter queue of every work queue, then the error queue. */
export function deadLetterQueues(config: Config): string[] {
  return [
    ...workQueues(config).map(deadLetterDestination),
    normalizeDestination(config.queues.postprocess_error),
  ];
}

/**
 * The queue an operator named, in its canonical spelling, if it is a dead-letter queue
 * (`DLQ.*`) or the error queue; refused otherwise, so that a typo cannot empty a work queue.
 */
export function deadLetterQueue(config: Config, name: string): string {
  const queue = normalizeDestination(name);
  const { kind, name: bare } = parseDestination(queue);
  if (
    kind === "queue" &&
    (bare.startsWith("DLQ.") || queue === normalizeDestination(config.queues.postprocess_error))
  )
    return queue;
  throw new DeadLetterRefused(
    `${queue} is not a dead-letter queue (DLQ.<NAME>) or the error queue (${config.queues.postprocess_error})`,
  );
}

/** What re-injecting a message sends, and where. */
export interface Reinjection {
  destination: string;
  body: string;
  headers: Record<string, string>;
}

/**
 * Pure: where a dead letter goes back to and what is sent. A `DLQ.<NAME>` letter goes back to
 * `/queue/<NAME>` (our own naming, not the header, decides); an error-queue message's
 * `original_body` goes to its `original_destination`. Either must be one of `known` (the
 * configured work queues): a message's claim alone never chooses where it is sent. `to`, the
 * operator's explicit choice, overrides (and must be known too).
 */
export function planReinjection(
  message: QueuedMessage,
  errorQueue: string,
  known: string[],
  to?: string,
): Reinjection {
  const headers = Object.fromEntries(
    Object.entries(message.headers).filter(([name]) => !DEAD_LETTER_HEADERS.includes(name)),
  );
  let destination: string | null = to ? normalizeDestination(to) : null;
  let body = message.body;
  const { name } = parseDestination(message.destination);
  if (normalizeDestination(message.destination) === normalizeDestination(errorQueue)) {
    const original = errorQueueOriginal(message.body);
    if (!original)
      throw new DeadLetterRefused(
        `message ${message.id} has no original_body and original_destination (it was not refused by autoreduce): nothing to send back`,
      );
    body = original.body;
    destination ??= original.destination ? normalizeDestination(original.destination) : null;
  } else if (name.startsWith("DLQ.")) {
    destination ??= `/queue/${name.slice(4)}`;
  }
  if (!destination)
    throw new DeadLetterRefused(`message ${message.id}: where it came from is not known; give --to QUEUE`);
  if (!known.includes(destination))
    throw new DeadLetterRefused(
      `message ${message.id} would go to ${destination}, which is not a queue of this configuration (${known.join(", ")})`,
    );
  return { destination, body, headers };
}

function errorQueueOriginal(body: string): { body: string; destination: string | null } | null {
  try {
    const parsed = JSON.parse(body) as { original_body?: unknown; original_destination?: unknown };
    if (typeof parsed?.original_body !== "string") return null;
    const destination = typeof parsed.original_destination === "string" ? parsed.original_destination : null;
    return { body: parsed.original_body, destination };
  } catch {
    return null;
  }
}

/** One line about a message for a listing: why it is there and where it came from. */
export function describeDeadLetter(message: QueuedMessage): { reason: string; from: string } {
  let reason = message.headers[DEAD_LETTER_REASON_HEADER] ?? message.headers["x-error-reason"] ?? "";
  let from = message.headers[ORIGINAL_DESTINATION_HEADER] ?? "";
  if (!reason || !from) {
    try {
      const parsed = JSON.parse(message.body) as { error?: unknown; original_destination?: unknown };
      if (!reason && typeof parsed?.error === "string") reason = parsed.error;
      if (!from && typeof parsed?.original_destination === "string") from = parsed.original_destination;
    } catch {
      // not JSON: nothing more to say
    }
  }
  const { name } = parseDestination(message.destination);
  if (!from && name.startsWith("DLQ.")) from = `/queue/${name.slice(4)}`;
  return { reason: reason || "-", from: from || "-" };
}

/** Finds a message by id in the given queues (the first that has it), looking in all at once. */
export async function findDeadLetter(
  transport: Transport,
  queues: string[],
  id: string,
): Promise<QueuedMessage | null> {
  const looks = await Promise.all(queues.map((queue) => transport.browse(queue, MOST_LOOKED_AT)));
  for (const messages of looks) {
    const found = messages.find((m) => m.id === id);
    if (found) return found;
  }
  return null;
}

/**
 * Sends a dead letter back, and only once that send is durable removes it from its queue: a
 * crash in between leaves it in both places (at least once), never in neither.
 */
export async function reinject(
  transport: Transport,
  message: QueuedMessage,
  plan: Reinjection,
): Promise<{ sentTo: string; removed: boolean }> {
  await transport.send(plan.destination, { body: plan.body, headers: plan.headers });
  const removed = (await transport.take(message.destination, message.id)) !== null;
  return { sentTo: plan.destination, removed };
}

/**
 * Pure: the status line about dead letters, from queue depths (null: the broker cannot tell).
 * `Dead letters: none`, `Dead letters: 2 in /queue/DLQ.X, 1 in /queue/POSTPROCESS.ERROR (...)`.
 */
export function deadLetterSummary(depths: Record<string, number | null>, queues: string[]): string {
  const known = queues.filter((q) => q in depths);
  const waiting = known.filter((q) => (depths[q] ?? 0) > 0).map((q) => `${depths[q]} in ${q}`);
  const unknown = known.filter((q) => depths[q] === null).length;
  const parts = [...waiting, ...(unknown ? [`${unknown} queue(s) the broker cannot count`] : [])];
  if (parts.length === 0) return "Dead letters: none";
  return `Dead letters: ${parts.join(", ")} (see \`autoreduce dlq list\`)`;
}
