import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ArchiveFileRecord, ArchiveFileStore } from "../../src/listener/archive-file-store.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const record = (path: string, overrides: Partial<ArchiveFileRecord> = {}): ArchiveFileRecord => ({
  path,
  instrument: "ARCS",
  runNumber: 1,
  size: 100,
  mtimeMs: 1_700_000_000_123,
  state: "announced",
  note: null,
  recordedAt: 1_700_000_001_000,
  ...overrides,
});

function storeBehaviour(
  name: string,
  open: () => Promise<{ database: SqlDatabase; drop: () => Promise<void> }>,
) {
  describe(`ArchiveFileStore on ${name}`, () => {
    let database: SqlDatabase;
    let drop: () => Promise<void> = async () => {};
    before(async () => {
      ({ database, drop } = await open());
    });
    after(async () => {
      await database.close();
      await drop();
    });

    test("records files, finds them by path, and replaces a path's record on a new version", async () => {
      const store = new ArchiveFileStore(database);
      await store.record([record("/a/1"), record("/a/2", { state: "ignored", note: "old" })]);
      await store.record([record("/a/1", { size: 200, mtimeMs: 1_700_000_009_999, state: "rejected" })]);
      const found = await store.find(["/a/1", "/a/2", "/a/3"]);
      assert.deepEqual(Object.fromEntries(found), {
        "/a/1": { size: 200, mtimeMs: 1_700_000_009_999, state: "rejected" },
        "/a/2": { size: 100, mtimeMs: 1_700_000_000_123, state: "ignored" },
      });
    });

    test("batches larger than one statement are recorded and found whole", async () => {
      const store = new ArchiveFileStore(database);
      const many = Array.from({ length: 450 }, (_, i) => record(`/b/${i}`, { runNumber: i }));
      await store.record(many);
      const found = await store.find(many.map((r) => r.path));
      assert.equal(found.size, 450);
    });
  });
}

storeBehaviour("SQLite", async () => {
  const dir = tempDir();
  const database = await openStateDatabase(`sqlite:${join(dir.path, "state.db")}`);
  return { database, drop: async () => dir.cleanup() };
});

storeBehaviour("PostgreSQL", async () => {
  const pg = await createTestDatabase();
  return { database: await openStateDatabase(pg.url), drop: pg.drop };
});
