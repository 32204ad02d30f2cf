import { backoffDelay, sleep } from "../failures/backoff.ts";
import type { Logger } from "../logging/logger.ts";
import { DatabaseUnavailableError } from "./state-database.ts";

/** Node's socket error codes that mean the database server is unreachable or went away. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * PostgreSQL SQLSTATE classes (the first two characters) in which every condition is the server
 * being unavailable, not the statement being wrong:
 * - `08` connection exception (cannot connect, connection lost);
 * - `53` insufficient resources (`53300` too many connections, out of memory, disk full);
 * - `57` operator intervention (`57P01` admin shutdown, `57P02` crash shutdown, `57P03` cannot
 *   connect now (starting up, recovering), `57014` a statement cancelled by an administrator);
 * - `58` system error (an I/O error in the server).
 */
const OUTAGE_CLASSES = new Set(["08", "53", "57", "58"]);

/**
 * Single SQLSTATEs outside those classes that say the database refuses work for now:
 * `55000` object not in prerequisite state is what a connection gets while the database is
 * blocked (`ALTER DATABASE … ALLOW_CONNECTIONS false`), `55006` object in use (the database is
 * being dropped or copied), `25006` read-only transaction (a standby that is not promoted yet).
 */
const OUTAGE_STATES = new Set(["55000", "55006", "25006"]);

/**
 * SQLite result codes (and their extended `_…` forms) that say the file cannot be used for now:
 * locked by another writer longer than the busy timeout, the disk full, an I/O error.
 */
const SQLITE_OUTAGE_CODES = ["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR"];
const isSqliteOutage = (code: string) =>
  SQLITE_OUTAGE_CODES.some((c) => code === c || code.startsWith(`${c}_`));

/**
 * The `pg` client's own errors for a connection that ended or could not be made carry no code;
 * these are their exact beginnings (pg 8: `client.js`, `pg-pool`).
 */
const PG_CLIENT_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error",
];

/**
 * True for errors that say the database is unreachable for now (server down, restarting, not
 * accepting connections, out of connections, the connection cut, SQLite busy) rather than that
 * the statement or the data is wrong. Such an error is worth waiting out; any other is a bug or
 * bad data and must surface. PostgreSQL errors are told by their SQLSTATE class, not their text.
 */
export function isDatabaseOutage(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (SOCKET_CODES.has(code) || isSqliteOutage(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return OUTAGE_CLASSES.has(code.slice(0, 2)) || OUTAGE_STATES.has(code);
  }
  if (PG_CLIENT_MESSAGES.some((start) => error.message.startsWith(start))) return true;
  // A connection error wrapped by a library (AggregateError of several addresses, `cause`).
  if (error instanceof AggregateError) return error.errors.some(isDatabaseOutage);
  return error.cause !== undefined && error.cause !== error && isDatabaseOutage(error.cause);
}

export interface OutageOptions {
  log: Logger;
  /** What is being done, for the log ("handling a message from /queue/X"). */
  what: string;
  /** Stop waiting (the process is stopping): the last error is thrown. */
  stopping: () => boolean;
  initialMs?: number;
  maxMs?: number;
}

/**
 * Runs `fn`, and while it fails because the database is unreachable, runs it again after a delay
 * (doubling, capped) instead of failing. A message handler wrapped in this keeps its message
 * through a database restart: it is neither redelivered nor counted towards the dead-letter queue,
 * and it is acknowledged only once its effect is stored. The outage is logged once, and its end.
 */
export async function waitOutOutages<T>(fn: () => Promise<T>, options: OutageOptions): Promise<T> {
  const { log, what, stopping, initialMs = 500, maxMs = 5_000 } = options;
  let since = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await fn();
      if (since)
        log.info({ what, seconds: Math.round((Date.now() - since) / 1000) }, "database reachable again");
      return result;
    } catch (e) {
      if (!isDatabaseOutage(e) || stopping()) throw e;
      if (!since) {
        since = Date.now();
        log.error(
          { err: e, what },
          "database unreachable; holding the work and trying again until it is back",
        );
      }
      await sleep(backoffDelay({ initialMs, maxMs }, attempt));
    }
  }
}
