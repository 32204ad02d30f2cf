import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import { isDatabaseOutage } from "../../src/store/database-outage.ts";
import { openSqlDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { createTestDatabase } from "../helpers/postgres.ts";

let fresh: Awaited<ReturnType<typeof createTestDatabase>>;
let database: SqlDatabase;
let admin: SqlDatabase;

before(async () => {
  fresh = await createTestDatabase();
  database = openSqlDatabase(fresh.url);
  admin = openSqlDatabase(fresh.url, 1);
});
after(async () => {
  await database.close();
  await admin.close();
  await fresh.drop();
});

test("a connection the server ends mid-transaction fails that transaction as an outage; the process lives on", async () => {
  // What a PostgreSQL restart does to a client that is checked out between two statements.
  const outcome = database.transaction(async (trx) => {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
    const pid = rows[0]?.pid;
    await sql`select pg_terminate_backend(${pid})`.execute(admin.db);
    // Give the termination notice time to arrive while no statement runs on this client.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sql`select 1`.execute(trx);
  });
  await assert.rejects(outcome, (e: unknown) => isDatabaseOutage(e));
  const { rows } = await sql<{ one: number }>`select 1 as one`.execute(database.db);
  assert.equal(Number(rows[0]?.one), 1, "the pool serves again with a new connection");
});
