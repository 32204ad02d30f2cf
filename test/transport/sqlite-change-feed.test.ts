import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { commitsByOthers, openChangeFeed } from "../../src/transport/embedded/change-feed.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

test("SQLite: only another connection's commits count as a change made elsewhere", async () => {
  const dir = tempDir();
  const url = `sqlite:${join(dir.path, "state.db")}`;
  const ours = await openStateDatabase(url);
  const theirs = await openStateDatabase(url);
  try {
    await sql`create table t (n integer)`.execute(ours.db);
    const changed = commitsByOthers(ours as SqlDatabase<unknown>);
    assert.equal(await changed(), true, "the first look says changed");
    await sql`insert into t values (1)`.execute(ours.db);
    await ours.transaction(async (trx) => sql`insert into t values (2)`.execute(trx));
    assert.equal(await changed(), false, "our own commits are not someone else's");
    await sql`insert into t values (3)`.execute(theirs.db);
    assert.equal(await changed(), true, "another connection committed");
    assert.equal(await changed(), false, "and nothing since");
  } finally {
    await theirs.close();
    await ours.close();
    dir.cleanup();
  }
});

test("SQLite: a commit by another connection is signalled as a change made elsewhere", async () => {
  const dir = tempDir();
  const url = `sqlite:${join(dir.path, "state.db")}`;
  const ours = await openStateDatabase(url);
  const theirs = await openStateDatabase(url);
  const feed = openChangeFeed(ours as SqlDatabase<unknown>);
  const elsewhere: Array<string | null> = [];
  const stop = feed.onChange((destination) => {
    if (destination === null) elsewhere.push(destination);
  });
  try {
    await sql`create table t (n integer)`.execute(theirs.db);
    await waitFor(() => elsewhere.length > 0, "a signal for the other connection's commit");
    const before = elsewhere.length;
    await sql`insert into t values (1)`.execute(theirs.db);
    await waitFor(() => elsewhere.length > before, "a signal for its next commit");
  } finally {
    stop();
    await feed.close();
    await theirs.close();
    await ours.close();
    dir.cleanup();
  }
});
