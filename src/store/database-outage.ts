import type { Logger } from "../logging/logger.ts";
import { DatabaseUnavailableError } from "./state-database.ts";

/** Node's socket error codes that mean the database server is unreachable or went away. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
]);

/**
 * True for errors that say the database is unreachable for now (server down, restarting, the
 * connection cut, SQLite busy) rather than that the statement or the data is wrong. Such an
 * error is worth waiting out; any other is a bug or bad data and must surface.
 */
export function isDatabaseOutage(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (SOCKET_CODES.has(code)) return true;
    // PostgreSQL: class 08 connection exceptions; 57P01-03 admin/crash shutdown, cannot connect now.
    if (/^08...$/.test(code) || code === "57P01" || code === "57P02" || code === "57P03") return true;
    if (code === "SQLITE_BUSY" || code === "SQLITE_BUSY_SNAPSHOT") return true;
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(
    error.message,
  );
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
  const { log, what, stopping, initialMs = 500, maxMs = 15_000 } = options;
  let delay = initialMs;
  let since = 0;
  for (;;) {
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
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(maxMs, delay * 2);
    }
  }
}
