import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "../../src/logging/logger.ts";
import { isDatabaseOutage, waitOutOutages } from "../../src/store/database-outage.ts";
import { DatabaseUnavailableError } from "../../src/store/state-database.ts";

const coded = (code: string, message = "boom") => Object.assign(new Error(message), { code });

test("outages are told apart from errors of the statement or the data", () => {
  const cases: Array<[unknown, boolean]> = [
    [new DatabaseUnavailableError("postgres://x", new Error("down")), true],
    [coded("ECONNREFUSED"), true],
    [coded("57P01", "terminating connection due to administrator command"), true],
    [coded("08006"), true],
    [coded("SQLITE_BUSY"), true],
    [new Error("Connection terminated unexpectedly"), true],
    [coded("55000", 'database "x" is not currently accepting connections'), true],
    [coded("53300", "sorry, too many clients already"), true],
    [coded("57P03", "the database system is starting up"), true],
    [coded("57P02", "terminating connection because of crash of another server process"), true],
    [coded("08001", "could not connect"), true],
    [coded("58030", "could not read block"), true],
    [coded("EAI_AGAIN"), true],
    [coded("SQLITE_BUSY_SNAPSHOT"), true],
    [coded("SQLITE_IOERR_WRITE", "disk I/O error"), true],
    [coded("SQLITE_FULL", "database or disk is full"), true],
    [coded("SQLITE_CONSTRAINT_UNIQUE", "UNIQUE constraint failed"), false],
    [coded("SQLITE_BUSYNESS"), false],
    [new Error("timeout exceeded when trying to connect"), true],
    [new AggregateError([coded("ECONNREFUSED"), coded("ECONNREFUSED")], "connect failed"), true],
    [new Error("query failed", { cause: coded("57P01") }), true],
    [coded("23505", "duplicate key value violates unique constraint"), false],
    [coded("42P01", 'relation "x" does not exist'), false],
    [coded("22P02", "invalid input syntax for type integer"), false],
    [coded("40P01", "deadlock detected"), false],
    [coded("55P04", "unsafe use of new value of enum type"), false],
    [new Error("the connection was refused by policy, says this bad data"), false],
    [new TypeError("cannot read properties of undefined"), false],
    ["a string", false],
  ];
  for (const [error, want] of cases) assert.equal(isDatabaseOutage(error), want, String(error));
});

test("work that fails for an outage is run again until the database is back; other errors surface at once", async () => {
  const log = createLogger("fatal", "test");
  let calls = 0;
  const result = await waitOutOutages(
    async () => {
      calls++;
      if (calls < 3) throw coded("ECONNREFUSED");
      return "stored";
    },
    { log, what: "test", stopping: () => false, initialMs: 5 },
  );
  assert.deepEqual([result, calls], ["stored", 3]);

  calls = 0;
  await assert.rejects(
    waitOutOutages(
      async () => {
        calls++;
        throw coded("23505", "duplicate key");
      },
      { log, what: "test", stopping: () => false, initialMs: 5 },
    ),
    /duplicate key/,
  );
  assert.equal(calls, 1);

  await assert.rejects(
    waitOutOutages(
      async () => {
        throw coded("ECONNREFUSED", "still down");
      },
      { log, what: "test", stopping: () => true, initialMs: 5 },
    ),
    /still down/,
    "a stopping process gives up (the message is then delivered again)",
  );
});
