import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { createTestDatabase } from "./postgres.ts";
import { tempDir } from "./temp-dir.ts";

/**
 * A fresh, migrated state database on SQLite (scratch file) or PostgreSQL (scratch database);
 * `close` closes it and removes the scratch file or database.
 */
export async function openBackendDatabase(
  backend: "SQLite" | "PostgreSQL",
): Promise<{ database: SqlDatabase; close: () => Promise<void> }> {
  const scratch =
    backend === "SQLite"
      ? (() => {
          const dir = tempDir();
          return { url: `sqlite:${dir.path}/state.db`, drop: async () => dir.cleanup() };
        })()
      : await createTestDatabase();
  const database = await openStateDatabase(scratch.url);
  return {
    database,
    close: async () => {
      await database.close();
      await scratch.drop();
    },
  };
}
