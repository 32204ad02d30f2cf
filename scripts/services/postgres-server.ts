import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { portOpen } from "./process-tools.ts";

/**
 * The machine's PostgreSQL on 127.0.0.1:5432 (PGHOST/PGPORT override), started with Debian's
 * `pg_ctlcluster` if it is down.
 */
export async function ensurePostgres(): Promise<{ url: string; started: boolean }> {
  const host = process.env.PGHOST ?? "127.0.0.1";
  const port = Number(process.env.PGPORT ?? 5432);
  const user = process.env.PGUSER ?? "postgres";
  const url = `postgres://${user}@${host}:${port}/postgres`;
  if (await portOpen(port, host)) return { url, started: false };
  for (const version of readdirSync("/etc/postgresql")) {
    execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "start"], {
      stdio: "ignore",
    });
  }
  if (!(await portOpen(port, host))) throw new Error(`PostgreSQL does not listen on ${host}:${port}`);
  return { url, started: true };
}
