import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { openSqlDatabase, type SqlDatabase } from "../store/state-database.ts";
import { EmbeddedTransport } from "./embedded/embedded-transport.ts";
import type { Transport } from "./transport.ts";

/**
 * Opens the transport the config names. The embedded transport lives in the state database:
 * pass the process's open database to share its connection (SQLite allows one writer per
 * process without deadlocks only that way), or let it open its own (a worker process).
 */
export async function openTransport<S>(
  config: Config,
  log: Logger,
  shared?: SqlDatabase<S>,
): Promise<{ transport: Transport; close: () => Promise<void> }> {
  const own = shared ? null : openSqlDatabase<unknown>(config.database.url, config.database.pool_size);
  const database = (shared as SqlDatabase<unknown> | undefined) ?? own;
  if (!database) throw new Error("no database for the embedded transport");
  const options = config.transport.embedded;
  const transport = await EmbeddedTransport.open(database, {
    leaseMs: options.lease_seconds * 1000,
    maxDeliveries: options.max_deliveries,
    pollIntervalMs: options.poll_interval_ms,
    onError: (error, context) => log.error({ err: error }, `transport: ${context}`),
  });
  return {
    transport,
    close: async () => {
      await transport.close();
      await own?.close();
    },
  };
}
