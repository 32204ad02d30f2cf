import { readFileSync } from "node:fs";
import { ConfigError } from "../config/config-error.ts";
import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { redactUrl } from "../store/database-url.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import type { Transport } from "./transport.ts";

/**
 * Opens the transport the config names.
 * - `embedded` lives in the state database: pass the process's open database to share its
 *   connection (SQLite allows one writer per process without deadlocks only that way), or let it
 *   open its own (a worker process).
 * - `stomp` needs no database at all: a worker then holds broker credentials only.
 * Each kind's modules are loaded only when configured: a STOMP worker loads no database driver
 * (kysely, better-sqlite3: ~8 MB of its resident memory), an embedded one no STOMP client.
 */
export async function openTransport<S>(
  config: Config,
  log: Logger,
  shared?: SqlDatabase<S>,
): Promise<{ transport: Transport; close: () => Promise<void> }> {
  if (config.transport.kind === "stomp") {
    const { StompTransport } = await import("./stomp/stomp-transport.ts");
    const transport = await StompTransport.open(await stompOptions(config, log));
    return { transport, close: () => transport.close() };
  }
  const [{ openSqlDatabase }, { EmbeddedTransport }] = await Promise.all([
    import("../store/state-database.ts"),
    import("./embedded/embedded-transport.ts"),
  ]);
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

/** One line for start-up logs and `--show-config`: where messages go (never a password). */
export function describeTransport(config: Config): string {
  if (config.transport.kind === "embedded") return `embedded, in ${redactUrl(config.database.url)}`;
  const s = config.transport.stomp;
  const brokers = Array.isArray(s.brokers) ? s.brokers.join(", ") : s.brokers;
  return `stomp (${s.flavour}) ${brokers}${s.user ? ` as ${s.user}` : ""}`;
}

async function stompOptions(config: Config, log: Logger) {
  const { parseBrokers } = await import("./stomp/broker-list.ts");
  const s = config.transport.stomp;
  let brokers: ReturnType<typeof parseBrokers>;
  try {
    brokers = parseBrokers(s.brokers);
  } catch (e) {
    throw new ConfigError(config.source, [`transport.stomp.brokers: ${(e as Error).message}`]);
  }
  return {
    brokers,
    login: s.user ?? undefined,
    passcode: brokerPassword(config),
    flavour: s.flavour,
    heartbeatMs: s.heartbeat_seconds * 1000,
    reconnectInitialMs: s.reconnect_initial_seconds * 1000,
    reconnectMaxMs: s.reconnect_max_seconds * 1000,
    sendTimeoutMs: s.send_timeout_seconds * 1000,
    maxDeliveries: s.max_deliveries,
    onError: (error: unknown, context: string) => log.error({ err: error }, `transport: ${context}`),
    // Only a loss is a warning: a close this process asked for (every command on exit) is routine.
    onConnectionChange: (state: "connected" | "disconnected" | "closed", detail: string) =>
      state === "disconnected" ? log.warn(`broker ${detail}`) : log.info(`broker ${detail}`),
  };
}

/** `password`, else the first line of `password_file`, else the variable `password_env`. */
export function brokerPassword(config: Config, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const s = config.transport.stomp;
  if (s.password !== null) return s.password;
  if (s.password_file !== null) {
    try {
      return readFileSync(s.password_file, "utf8").split("\n")[0]?.trim() ?? "";
    } catch (e) {
      throw new ConfigError(config.source, [
        `transport.stomp.password_file: cannot read ${s.password_file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      ]);
    }
  }
  return env[s.password_env] || undefined;
}
