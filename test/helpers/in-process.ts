import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ConfigInput } from "../../src/config/config-schema.ts";
import { type Config, configFromObject } from "../../src/config/load-config.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { openTransport } from "../../src/transport/open-transport.ts";
import type { IncomingMessage, Transport } from "../../src/transport/transport.ts";
import { tempDir } from "./temp-dir.ts";

/** A config, state database and embedded transport in a scratch folder, for in-process tests. */
export interface Stack {
  dir: string;
  /** The config as given (before defaults and path resolution). */
  raw: ConfigInput;
  config: Config;
  database: SqlDatabase;
  transport: Transport;
  /** Collects every message arriving on a queue. */
  collect(destination: string): Promise<IncomingMessage[]>;
  close(): Promise<void>;
}

export async function openStack(config: ConfigInput = {}, databaseUrl?: string): Promise<Stack> {
  const tmp = tempDir();
  mkdirSync(join(tmp.path, "archive"), { recursive: true });
  const resolved = configFromObject(
    { data_dir: tmp.path, ...config, ...(databaseUrl ? { database: { url: databaseUrl } } : {}) },
    join(tmp.path, "autoreduce.yaml"),
    {},
  );
  const database = await openStateDatabase(resolved.database.url);
  const { transport, close } = await openTransport(resolved, silentLogger(), database);
  const subscriptions: Array<{ unsubscribe(): Promise<void> }> = [];
  return {
    dir: tmp.path,
    raw: { ...config, ...(databaseUrl ? { database: { url: databaseUrl } } : {}) },
    config: resolved,
    database,
    transport,
    async collect(destination) {
      const got: IncomingMessage[] = [];
      subscriptions.push(
        await transport.subscribe(destination, async (m) => {
          got.push(m);
        }),
      );
      return got;
    },
    async close() {
      for (const s of subscriptions) await s.unsubscribe();
      await close();
      await database.close();
      tmp.cleanup();
    },
  };
}
