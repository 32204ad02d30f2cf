import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { listRouteRules, saveRouteRule } from "../../src/store/routing-store.ts";
import type { SqlDatabase } from "../../src/store/state-database.ts";
import { openBackendDatabase } from "../helpers/backend-database.ts";

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`routing rules keep the executor they name (migration 006) on ${backend}`, () => {
    let database: SqlDatabase;
    let close: () => Promise<void>;
    before(async () => {
      ({ database, close } = await openBackendDatabase(backend));
    });
    after(async () => close());

    test("a rule's executor is saved, replaced by name, and absent as null", async () => {
      const rule = { priority: 1, queue: "/queue/A", created_by: "t", instrument: "nom" };
      await saveRouteRule(database, { ...rule, name: "with", executor: "local" });
      await saveRouteRule(database, { ...rule, name: "without", priority: 2 });
      assert.deepEqual(
        (await listRouteRules(database)).map((r) => [r.name, r.instrument, r.executor]),
        [
          ["with", "NOM", "local"],
          ["without", "NOM", null],
        ],
      );
      await saveRouteRule(database, { ...rule, name: "with", executor: null });
      assert.equal((await listRouteRules(database))[0]?.executor, null, "replaced by name");
    });

    test("a rule says who serves its queue (migration 007): sns-agent kept, absent as null", async () => {
      const rule = { priority: 5, queue: "/queue/B", created_by: "t", instrument: "eqsans" };
      await saveRouteRule(database, { ...rule, name: "agents", workers: "sns-agent" });
      await saveRouteRule(database, { ...rule, name: "ours", priority: 6 });
      const rules = (await listRouteRules(database)).filter((r) => r.queue === "/queue/B");
      assert.deepEqual(
        rules.map((r) => [r.name, r.workers]),
        [
          ["agents", "sns-agent"],
          ["ours", null],
        ],
      );
    });
  });
}
