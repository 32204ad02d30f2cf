import { createHash } from "node:crypto";
import type { Client, IMessage, StompHeaders } from "@stomp/stompjs";
import { type QueuedMessage, TransportUnavailableError } from "../transport.ts";
import { prefetchHeaders } from "./flavour.ts";
import { DEAD_LETTERED_AT_HEADER, ID_HEADER, userHeaders } from "./message-headers.ts";
import { openSideConnection } from "./side-connection.ts";
import { ConnectionLostError, type Session, type StompConnection } from "./stomp-connection.ts";

/**
 * RabbitMQ has no queue browser: a look holds the deliveries it is given unacknowledged (see
 * lookAtRabbitMQ). The queue has been read when no further message came for this long.
 */
const RABBIT_QUIET_MS = 1_500;
/** Most messages one look (or one search for a message to take) holds at once. */
export const MOST_BROWSED = 5_000;

let lookNo = 0;

/**
 * How browse() names a message, and take() finds it again: the sender's id (ours, or the
 * caller's `x-message-id`), else ActiveMQ's message-id (a stable JMSMessageID), else, on
 * RabbitMQ, whose message-id names only one delivery, a hash of the body.
 */
export function browseId(flavour: Session["flavour"], headers: StompHeaders, body: string): string {
  const own = headers[ID_HEADER] ?? headers["x-message-id"];
  if (own) return own;
  if (flavour === "activemq" && headers["message-id"]) return headers["message-id"];
  return `sha256:${createHash("sha256").update(body).digest("hex").slice(0, 16)}`;
}

function toQueued(flavour: Session["flavour"], destination: string, frame: IMessage): QueuedMessage {
  const at = Number(frame.headers[DEAD_LETTERED_AT_HEADER] ?? frame.headers.timestamp);
  return {
    id: browseId(flavour, frame.headers, frame.body),
    destination,
    body: frame.body,
    headers: userHeaders(frame.headers),
    enqueuedAt: Number.isFinite(at) && at > 0 ? at : null,
  };
}

/**
 * ActiveMQ: reads up to `limit` frames of a queue with a queue browser (`browser: true`, ended
 * by a `browser: end` frame), which removes nothing. `stopAt` ends the look on the frame it accepts.
 */
function browseActiveMQ(
  session: Session,
  destination: string,
  limit: number,
  timeoutMs: number,
  stopAt?: (frame: IMessage) => boolean,
): Promise<{ frames: IMessage[]; found: IMessage | null }> {
  return new Promise((resolve, reject) => {
    const frames: IMessage[] = [];
    let settled = false;
    const finish = (error: Error | null, found: IMessage | null = null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (session.alive) subscription.unsubscribe();
      if (error) reject(error);
      else resolve({ frames, found });
    };
    const timer = setTimeout(
      () =>
        finish(new TransportUnavailableError(`browsing ${destination} did not end within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const { subscription } = session.subscribe(
      destination,
      (frame) => {
        if (settled) return;
        if (frame.headers.browser === "end") return finish(null);
        frames.push(frame);
        if (stopAt?.(frame)) return finish(null, frame);
        if (frames.length >= limit) finish(null);
      },
      { id: `autoreduce-look-${++lookNo}`, browser: "true" },
      timeoutMs,
    );
    void session.ended.then(() =>
      finish(new ConnectionLostError(`the connection closed while browsing ${destination}`)),
    );
  });
}

/**
 * RabbitMQ, which has no queue browser: on a connection of its own (see side-connection.ts),
 * holds up to `limit` deliveries unacknowledged until no more come for RABBIT_QUIET_MS, or until
 * `stopAt` accepts one, which is then acknowledged (with a receipt: removed for good). Closing
 * the connection puts every other message back in its place.
 */
async function lookAtRabbitMQ(
  side: Client,
  destination: string,
  limit: number,
  timeoutMs: number,
  stopAt?: (frame: IMessage) => boolean,
): Promise<{ frames: IMessage[]; found: IMessage | null }> {
  const frames: IMessage[] = [];
  const found = await new Promise<IMessage | null>((resolve, reject) => {
    let quiet: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (error: Error | null, match: IMessage | null = null) => {
      if (settled) return;
      settled = true;
      clearTimeout(quiet);
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(match);
    };
    const waitQuietly = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(null), RABBIT_QUIET_MS);
    };
    const timer = setTimeout(
      () =>
        finish(new TransportUnavailableError(`reading ${destination} did not end within ${timeoutMs} ms`)),
      timeoutMs,
    );
    side.onWebSocketClose = () =>
      finish(new ConnectionLostError(`the connection closed while reading ${destination}`));
    const receipt = `autoreduce-look-${++lookNo}`;
    side.watchForReceipt(receipt, () => {
      if (frames.length === 0) waitQuietly();
    });
    side.subscribe(
      destination,
      (frame) => {
        if (settled) return;
        frames.push(frame);
        if (stopAt?.(frame)) return finish(null, frame);
        if (frames.length >= limit) return finish(null);
        waitQuietly();
      },
      { id: receipt, ack: "client-individual", ...prefetchHeaders("rabbitmq", limit), receipt },
    );
  });
  if (found) {
    await new Promise<void>((resolve, reject) => {
      const receipt = `autoreduce-take-${++lookNo}`;
      const timer = setTimeout(
        () => reject(new TransportUnavailableError(`removing a message from ${destination}: no receipt`)),
        timeoutMs,
      );
      side.watchForReceipt(receipt, () => {
        clearTimeout(timer);
        resolve();
      });
      found.ack({ receipt });
    });
  }
  return { frames: found ? frames.filter((f) => f !== found) : frames, found };
}

/** Up to `limit` waiting messages of a queue, oldest first, none removed. */
export async function browseQueue(
  place: LookPlace,
  destination: string,
  limit: number,
  timeoutMs: number,
): Promise<QueuedMessage[]> {
  const most = Math.max(1, Math.min(limit, MOST_BROWSED));
  const { session } = place;
  const { frames } =
    session.flavour === "rabbitmq"
      ? await onSideConnection(place, timeoutMs, (side) => lookAtRabbitMQ(side, destination, most, timeoutMs))
      : await browseActiveMQ(session, destination, most, timeoutMs);
  return frames.map((frame) => toQueued(session.flavour, destination, frame));
}

/** Where a look happens: the transport's live session, and how to open another to its broker. */
export interface LookPlace {
  connection: StompConnection;
  session: Session;
  credentials: StompHeaders;
}

async function onSideConnection<T>(
  place: LookPlace,
  timeoutMs: number,
  use: (side: Client) => Promise<T>,
): Promise<T> {
  const side = await openSideConnection(place.session.broker, place.credentials, timeoutMs);
  try {
    return await use(side);
  } finally {
    side.onWebSocketClose = () => {};
    await side.deactivate();
  }
}

/**
 * Removes the message browse() named `id` and returns it, or null when it is not among the
 * first MOST_BROWSED. RabbitMQ: found among held deliveries and acknowledged. ActiveMQ: found by
 * browsing, then consumed alone with a selector on its JMSMessageID (selectors cannot name our
 * own headers, whose names hold dashes).
 */
export async function takeFromQueue(
  place: LookPlace,
  destination: string,
  id: string,
  timeoutMs: number,
): Promise<QueuedMessage | null> {
  const { session, connection } = place;
  const matches = (frame: IMessage) => browseId(session.flavour, frame.headers, frame.body) === id;
  if (session.flavour === "rabbitmq") {
    const { found } = await onSideConnection(place, timeoutMs, (side) =>
      lookAtRabbitMQ(side, destination, MOST_BROWSED, timeoutMs, matches),
    );
    return found ? toQueued(session.flavour, destination, found) : null;
  }
  const { found } = await browseActiveMQ(session, destination, MOST_BROWSED, timeoutMs, matches);
  const brokerId = found?.headers["message-id"];
  if (!brokerId) return null;
  return consumeSelected(connection, session, destination, brokerId, timeoutMs);
}

/** ActiveMQ: consumes the one message with this JMSMessageID (null if another took it first). */
function consumeSelected(
  connection: StompConnection,
  session: Session,
  destination: string,
  brokerId: string,
  timeoutMs: number,
): Promise<QueuedMessage | null> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const made = session.subscribe(
      destination,
      (frame) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        acknowledge(connection, session, frame, timeoutMs, destination)
          .then(() => resolve(toQueued(session.flavour, destination, frame)), reject)
          .finally(() => session.alive && made.subscription.unsubscribe());
      },
      {
        id: `autoreduce-take-${++lookNo}`,
        ack: "client-individual",
        selector: `JMSMessageID = '${brokerId.replaceAll("'", "''")}'`,
      },
      timeoutMs,
    );
    // The browser saw it a moment ago; if it does not come once the subscription stands, it is gone.
    let timer: NodeJS.Timeout | undefined;
    void made.confirmed.then(() => {
      timer = setTimeout(
        () => {
          if (settled) return;
          settled = true;
          if (session.alive) made.subscription.unsubscribe();
          resolve(null);
        },
        Math.min(timeoutMs, 5_000),
      );
    });
  });
}

/** ACK with a receipt: when it resolves the broker has removed the message. */
function acknowledge(
  connection: StompConnection,
  session: Session,
  frame: IMessage,
  timeoutMs: number,
  destination: string,
): Promise<void> {
  const receipt = connection.nextReceiptId();
  const done = connection.expectReceipt(
    session,
    receipt,
    timeoutMs,
    `removing a message from ${destination}`,
  );
  frame.ack({ receipt });
  return done;
}
