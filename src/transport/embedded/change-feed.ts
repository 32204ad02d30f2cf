import { EventEmitter } from "node:events";
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { sql } from "kysely";
import type pg from "pg";
import { pgDriver } from "../../store/pg-driver.ts";
import type { SqlDatabase } from "../../store/state-database.ts";

/**
 * Tells consumers that the transport tables may have changed, so they look at once instead of
 * waiting for the next poll. In-process senders signal directly; other processes are noticed
 * through the SQLite write-ahead log changing (inotify on its folder) or PostgreSQL NOTIFY.
 * A missed signal only costs latency: consumers also poll.
 */
export interface ChangeFeed {
  /** Called by a sender after its message is committed. */
  notify(destination: string): Promise<void>;
  /**
   * `destination` is known for changes made in this process; null for changes from another
   * process (any destination may have changed).
   */
  onChange(listener: (destination: string | null) => void): () => void;
  close(): Promise<void>;
}

const CHANNEL = "autoreduce_transport";
// One emitter per database within this process, so transports sharing a database wake each other.
const inProcess = new Map<string, EventEmitter>();

function emitterFor(key: string): EventEmitter {
  let emitter = inProcess.get(key);
  if (!emitter) {
    emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    inProcess.set(key, emitter);
  }
  return emitter;
}

export function openChangeFeed(database: SqlDatabase<unknown>): ChangeFeed {
  const local = emitterFor(database.url);
  const remote = new EventEmitter();
  remote.setMaxListeners(0);
  const stopRemote =
    database.dialect === "sqlite"
      ? watchSqlite(database.file, remote, commitsByOthers(database))
      : listenPostgres(database.url, remote);
  return {
    async notify(destination) {
      local.emit("change", destination);
      if (database.dialect === "postgres")
        await sql`select pg_notify(${CHANNEL}, ${destination})`.execute(database.db);
    },
    onChange(listener) {
      const fromRemote = (destination?: string) => listener(destination ?? null);
      local.on("change", listener);
      remote.on("change", fromRemote);
      return () => {
        local.off("change", listener);
        remote.off("change", fromRemote);
      };
    },
    async close() {
      remote.removeAllListeners();
      await stopRemote();
    },
  };
}

/** How long the file events of one commit (several writes to the log) are gathered before one look. */
const SQLITE_SETTLE_MS = 2;

/**
 * Every commit to the database changes its write-ahead log, this process's own commits too. Those
 * are already signalled in-process (with their destination), so a log change only wakes the
 * consumers when another connection committed something: one `PRAGMA data_version` instead of
 * a claim on every destination after each of our own commits.
 */
function watchSqlite(file: string | null, out: EventEmitter, otherCommits: () => Promise<boolean>) {
  if (!file) return async () => {};
  const names = new Set([basename(file), `${basename(file)}-wal`]);
  let watcher: FSWatcher | null = null;
  let settle: NodeJS.Timeout | null = null;
  const look = () => {
    settle = null;
    otherCommits().then(
      (changed) => changed && out.emit("change"),
      () => out.emit("change"), // cannot tell: look, as if it were someone else's
    );
  };
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
      if (!name || !names.has(name.toString()) || settle) return;
      settle = setTimeout(look, SQLITE_SETTLE_MS);
      settle.unref();
    });
    watcher.on("error", () => {});
  } catch {
    // No inotify (or too many watches): polling alone still delivers everything.
  }
  return async () => {
    if (settle) clearTimeout(settle);
    watcher?.close();
  };
}

/**
 * True when another connection — another process — committed to the SQLite database since the
 * last call (`PRAGMA data_version` changes with other connections' commits, never with this
 * connection's own). The first call says true.
 */
export function commitsByOthers(database: SqlDatabase<unknown>): () => Promise<boolean> {
  let last: number | null = null;
  return async () => {
    const { rows } = await sql<{ data_version: number }>`pragma data_version`.execute(database.db);
    const version = Number(rows[0]?.data_version);
    const changed = version !== last;
    last = version;
    return changed;
  };
}

function listenPostgres(url: string, out: EventEmitter): () => Promise<void> {
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  const connect = () => {
    const c = new (pgDriver().Client)({ connectionString: url });
    client = c;
    const reconnect = () => {
      c.removeAllListeners();
      c.end().catch(() => {});
      if (!closed) retry = setTimeout(connect, 1000);
    };
    c.on("error", reconnect);
    c.on("notification", (n) => out.emit("change", n.payload || undefined));
    c.connect()
      .then(() => c.query(`LISTEN ${CHANNEL}`))
      .then(() => out.emit("change"))
      .catch(reconnect);
  };
  connect();
  return async () => {
    closed = true;
    if (retry) clearTimeout(retry);
    await (client as pg.Client | null)?.end().catch(() => {});
  };
}
