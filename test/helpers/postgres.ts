import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import pg from "pg";

/**
 * A real PostgreSQL for tests. Uses the server on 127.0.0.1:5432 (PGHOST/PGPORT/PGUSER override),
 * starting the Debian cluster if it is down. There is no skip: a test that needs PostgreSQL fails
 * when none can be had, in CI and elsewhere.
 */
const host = process.env.PGHOST ?? "127.0.0.1";
const port = Number(process.env.PGPORT ?? 5432);
const user = process.env.PGUSER ?? "postgres";
const adminUrl = `postgres://${user}@${host}:${port}/postgres`;

async function canConnect(): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

let ready: Promise<void> | null = null;

/** Makes sure the server answers, starting the local cluster once if needed. */
export function ensurePostgres(): Promise<void> {
  ready ??= (async () => {
    if (await canConnect()) return;
    try {
      const versions = readdirSync("/etc/postgresql");
      for (const version of versions) {
        execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "start"], {
          stdio: "ignore",
        });
      }
    } catch (e) {
      throw new Error(`PostgreSQL is not running on ${host}:${port} and could not be started: ${String(e)}`);
    }
    if (!(await canConnect())) throw new Error(`PostgreSQL on ${host}:${port} does not accept connections`);
  })();
  return ready;
}

/** Creates an empty database for one test; drop it with the returned function. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  await ensurePostgres();
  const name = `autoreduce_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  return {
    url: `postgres://${user}@${host}:${port}/${name}`,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
