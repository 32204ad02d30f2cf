import { createRequire } from "node:module";
import type pg from "pg";

let driver: typeof pg | null = null;

/**
 * The PostgreSQL driver, loaded on first use: processes on SQLite (the embedded default, and
 * every worker there) never load it, which keeps an idle worker small.
 */
export function pgDriver(): typeof pg {
  driver ??= createRequire(import.meta.url)("pg") as typeof pg;
  return driver;
}
