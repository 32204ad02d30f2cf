import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../config/config-error.ts";
import { type Config, loadConfig } from "../config/load-config.ts";
import { createLogger, type Logger } from "../logging/logger.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { LazyTransport } from "../transport/lazy-transport.ts";
import { openTransport } from "../transport/open-transport.ts";
import type { Transport } from "../transport/transport.ts";

/** The config named by `--config`, else `./autoreduce.yaml`, else a clear error. */
export function configFromOption(path: string | undefined): Config {
  const file = path ?? "autoreduce.yaml";
  if (!path && !existsSync(file)) {
    throw new ConfigError(resolve(file), [
      "no configuration: pass --config FILE, or run `autoreduce serve --demo` to try the system with a demo instrument",
    ]);
  }
  return loadConfig(file);
}

/** What a command that reads state and sends messages needs; `close` releases it all. */
export interface Connections {
  config: Config;
  log: Logger;
  database: SqlDatabase;
  transport: Transport;
  close(): Promise<void>;
}

/**
 * When the transport is opened: `on-first-use` (commands: one that only reads the database never
 * connects to the broker) or `now` (daemons: they subscribe at once, and a bad broker setting
 * should stop them at start-up rather than in a part's restart loop).
 */
export type TransportOpening = "now" | "on-first-use";

export async function connect(
  config: Config,
  logName: string,
  logLevel = config.log_level,
  opening: TransportOpening = "on-first-use",
): Promise<Connections> {
  const log = createLogger(logLevel, logName, { file: config.log_file });
  // Loaded here, not at the top: `autoreduce worker` shares this module with the commands but
  // never opens the state database, and the driver modules are a fifth of a worker's memory.
  const { openStateDatabase } = await import("../store/state-database.ts");
  const database = await openStateDatabase(config.database.url, config.database.pool_size);
  const open = () => openTransport(config, log, database);
  const { transport, close } =
    opening === "now" ? await open() : { transport: new LazyTransport(open), close: () => Promise.resolve() };
  return {
    config,
    log,
    database,
    transport,
    close: async () => {
      await transport.close();
      await close();
      await database.close();
      log.flush();
    },
  };
}
