import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import {
  Kysely,
  type Migration,
  Migrator,
  PostgresDialect,
  type SqliteDatabase,
  SqliteDialect,
  sql,
} from "kysely";
import type pg from "pg";
import { InfrastructureError } from "../failures/infrastructure-error.ts";
import { redactUrl } from "./database-url.ts";
import { stateMigrations } from "./migrations/index.ts";
import { pgDriver } from "./pg-driver.ts";
import type { StateSchema } from "./schema.ts";

export type Dialect = "sqlite" | "postgres";

/** An open database: the state tables, and the same connection for the embedded transport's tables. */
export interface SqlDatabase<S = StateSchema> {
  readonly db: Kysely<S>;
  readonly dialect: Dialect;
  readonly url: string;
  /** SQLite: the database file (null for :memory:). */
  readonly file: string | null;
  /** Runs `fn` in one transaction that takes the write lock at once (SQLite `BEGIN IMMEDIATE`). */
  transaction<T>(fn: (trx: Kysely<S>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The database cannot be reached or used. An infrastructure fault: retrying later may help. */
export class DatabaseUnavailableError extends InfrastructureError {
  override readonly name = "DatabaseUnavailableError";
  constructor(
    readonly url: string,
    override readonly cause: unknown,
  ) {
    super(`database ${redactUrl(url)} is not available: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/** Hides a password in a database URL, for logs and messages. */
export { redactUrl };

// pg returns int8 (bigint) as strings; our ids and epoch-ms times fit in a double.
const pgTypes = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20
      ? (v: string) => Number(v)
      : pgDriver().types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Puts a SQLite database in WAL mode (kept in the file). Switching the mode of a new file needs it
 * to itself, and SQLite answers SQLITE_BUSY at once, without its busy timeout, while another
 * process that starts at the same moment has it open: so wait a little and try again, for up to
 * 10 s. A file already in WAL mode needs no switch.
 */
function useWriteAheadLog(sqlite: InstanceType<typeof SQLite>): void {
  const deadline = Date.now() + 10_000;
  for (let wait = 5; ; wait = Math.min(200, wait * 2)) {
    try {
      if (sqlite.pragma("journal_mode", { simple: true }) === "wal") return;
      sqlite.pragma("journal_mode = WAL");
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait); // opening is synchronous
    }
  }
}

/** Opens `sqlite:<path>` or `postgres://…` without running migrations. */
export function openSqlDatabase<S = StateSchema>(url: string, poolSize = 10): SqlDatabase<S> {
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length);
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    const sqlite = new SQLite(file, { timeout: 10_000 });
    useWriteAheadLog(sqlite);
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    const db = new Kysely<S>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    return {
      db,
      dialect: "sqlite",
      url,
      file: file === ":memory:" ? null : file,
      transaction: (fn) =>
        db.connection().execute(async (conn) => {
          await sql`begin immediate`.execute(conn);
          try {
            const result = await fn(conn);
            await sql`commit`.execute(conn);
            return result;
          } catch (e) {
            await sql`rollback`.execute(conn);
            throw e;
          }
        }),
      close: () => db.destroy(),
    };
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    const pool = new (pgDriver().Pool)({ connectionString: url, max: poolSize, types: pgTypes });
    // An idle client that loses its server emits 'error' on the pool; without a handler Node exits.
    pool.on("error", () => {});
    // A client that is checked out but between statements (inside a transaction) when its server
    // goes away also emits 'error', on the client itself, which the pool does not listen to then:
    // unhandled, it would end the process. The next statement on it fails instead, as an outage.
    pool.on("connect", (client) => client.on("error", () => {}));
    const db = new Kysely<S>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      dialect: "postgres",
      url,
      file: null,
      transaction: (fn) => db.transaction().execute(fn),
      close: () => db.destroy(),
    };
  }
  throw new Error(`database url must start with sqlite: or postgres:// (got ${redactUrl(url)})`);
}

/**
 * Kysely prepares every statement anew; preparing costs more than running our small queries,
 * so prepared statements are kept by their SQL text (a bounded map: our statements are few).
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (!statement) {
        statement = sqlite.prepare(text);
        if (cache.size > 500) cache.clear();
        cache.set(text, statement);
      }
      return statement;
    },
  };
}

/**
 * Runs migrations with Kysely's migrator, in their own bookkeeping table.
 *
 * Several processes may start at once on one database. PostgreSQL migrations run in a transaction
 * under an advisory lock (Kysely's adapter). Kysely takes no lock on SQLite, so there the
 * migrations run on a connection of their own inside one `BEGIN IMMEDIATE` transaction: a second
 * process waits for the first, then finds nothing left to do, and a crash leaves no half-made table.
 */
export async function migrate(
  database: SqlDatabase<unknown>,
  migrations: Record<string, Migration>,
  table: string,
): Promise<void> {
  const run = async (db: Kysely<unknown>) => {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => migrations },
      migrationTableName: table,
      migrationLockTableName: `${table}_lock`,
      // Branches add numbered migrations side by side (004 jobs and 005 api tokens were written
      // at once); a database that already ran a later number still gets an earlier one that is
      // new to it. Our migrations touch separate tables, so their order between them is free.
      allowUnorderedMigrations: true,
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "?";
      throw new DatabaseUnavailableError(
        database.url,
        new Error(`migration ${failed} failed: ${(error as Error).message}`),
      );
    }
  };
  if (database.dialect !== "sqlite" || database.file === null) return run(database.db as Kysely<unknown>);
  const own = new SQLite(database.file, { timeout: 30_000 });
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: own }) });
  try {
    own.exec("BEGIN IMMEDIATE");
    try {
      await run(db);
      own.exec("COMMIT");
    } catch (e) {
      if (own.inTransaction) own.exec("ROLLBACK");
      throw e;
    }
  } finally {
    await db.destroy();
  }
}

/** Opens the state database and brings its tables up to date. */
export async function openStateDatabase(url: string, poolSize = 10): Promise<SqlDatabase> {
  const database = openSqlDatabase<StateSchema>(url, poolSize);
  try {
    await migrate(database as SqlDatabase<unknown>, stateMigrations(database.dialect), "state_migrations");
  } catch (e) {
    await database.close().catch(() => {});
    throw e instanceof DatabaseUnavailableError ? e : new DatabaseUnavailableError(url, e);
  }
  return database;
}
