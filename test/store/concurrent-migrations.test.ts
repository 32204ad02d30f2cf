import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { openStateDatabase } from "../../src/store/state-database.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const CHILD = join(import.meta.dirname, "migration-child.ts");

function openIn(url: string, start: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", CHILD, url, String(start)], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

test("processes that start together on a new SQLite database all open it; its tables are made once", async () => {
  const scratch = tempDir();
  try {
    for (let round = 0; round < 2; round++) {
      const url = `sqlite:${join(scratch.path, `race-${round}.db`)}`;
      // Every process waits for the same instant, well after all have loaded.
      const start = Date.now() + 2000;
      const results = await Promise.all([1, 2, 3, 4].map(() => openIn(url, start)));
      for (const r of results) assert.equal(r.code, 0, r.out);
      const database = await openStateDatabase(url);
      try {
        const rows = await database.db
          .selectFrom("state_migrations" as never)
          .select("name" as never)
          .execute();
        assert.equal(
          rows.length,
          new Set(rows.map((r) => JSON.stringify(r))).size,
          "each migration recorded once",
        );
      } finally {
        await database.close();
      }
    }
  } finally {
    scratch.cleanup();
  }
});
