import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { applyReport, undispatchedReductions } from "../../src/store/reduction-store.ts";
import { type ReadyRun, recordReadyRun } from "../../src/store/run-store.ts";
import { listRuns, runEvents } from "../../src/store/run-views.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { openBackendDatabase } from "../helpers/backend-database.ts";

const ready = (over: Partial<ReadyRun> = {}): ReadyRun => ({
  facility: "SNS",
  instrument: "NOM",
  experiment: "IPTS-9",
  runNumber: 100,
  dataFile: "/archive/NOM/IPTS-9/nexus/NOM_100.nxs.h5",
  title: "vanadium",
  startTime: null,
  endTime: null,
  metadata: { title: "vanadium" },
  messageId: `m-${Math.random()}`,
  destination: "/queue/POSTPROCESS.DATA_READY",
  body: "{}",
  dedupeKey: null,
  reason: "automatic",
  startedBy: null,
  outputDir: (v) => `/out/NOM/IPTS-9/v${v}`,
  ...over,
});

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`state store on ${backend}`, () => {
    let database: SqlDatabase;
    let close: () => Promise<void>;
    before(async () => {
      ({ database, close } = await openBackendDatabase(backend));
    });
    after(() => close());

    test("migrations run again on an up-to-date database without change", async () => {
      const again = await openStateDatabase(database.url);
      await again.close();
    });

    test("the first DATA_READY of a run creates version 0; a new notice creates version 1", async () => {
      const first = await recordReadyRun(database, ready());
      const second = await recordReadyRun(database, ready({ title: "vanadium, again" }));
      assert.equal(first.kind, "created");
      assert.equal(second.kind, "created");
      assert.deepEqual([first.reduction?.version, second.reduction?.version], [0, 1]);
      assert.equal(second.reduction?.output_dir, "/out/NOM/IPTS-9/v1");
      const latest = await listRuns(database, { instrument: "NOM" });
      assert.deepEqual(
        latest.map((r) => [r.run_number, r.version, r.title]),
        [[100, 1, "vanadium, again"]],
      );
      assert.equal((await listRuns(database, { instrument: "nom", allVersions: true })).length, 2);
    });

    test("the same message id, or the same content key, is recorded once", async () => {
      const r = ready({ runNumber: 200, messageId: "same-id", dedupeKey: "file:1:2" });
      const a = await recordReadyRun(database, r);
      const b = await recordReadyRun(database, r);
      const c = await recordReadyRun(database, { ...r, messageId: "other-id" });
      assert.deepEqual([a.kind, b.kind, c.kind], ["created", "duplicate", "duplicate"]);
      assert.equal(b.reduction?.id, a.reduction?.id);
      assert.equal((await listRuns(database, { runNumber: 200, allVersions: true })).length, 1);
      assert.equal((await runEvents(database, "NOM", 200)).length, 1);
    });

    test("a report changes status once, only from the status it was based on", async () => {
      const created = await recordReadyRun(database, ready({ runNumber: 300 }));
      const reduction = created.reduction;
      assert.ok(reduction);
      assert.deepEqual(
        (await undispatchedReductions(database)).map((r) => r.id).includes(reduction.id),
        true,
        "a new reduction is waiting to be dispatched",
      );
      const event = { messageId: "r1", destination: "/queue/REDUCTION.COMPLETE", body: "{}" };
      const complete = () => ({ status: "completed" as const, fields: { finished_at: Date.now() } });
      const first = await applyReport(database, reduction.id, event, complete);
      assert.equal(first?.next?.status, "completed");
      assert.equal(await applyReport(database, reduction.id, event, complete), null, "redelivered report");
      const seenBy: string[] = [];
      await applyReport(database, reduction.id, { ...event, messageId: "r2" }, (current) => {
        seenBy.push(current.status);
        return null;
      });
      assert.deepEqual(seenBy, ["completed"], "the decision sees the status as it is now");
      const [run] = await listRuns(database, { runNumber: 300 });
      assert.equal(run?.status, "completed", "still completed");
    });

    test("a report whose clock was read before an earlier-committed one's does not move updated_at back", async () => {
      const created = await recordReadyRun(database, ready({ runNumber: 310 }), 1_000);
      const reduction = created.reduction;
      assert.ok(reduction);
      const event = (id: string) => ({ messageId: id, destination: "/queue/X", body: "{}" });
      const to = (status: "running" | "completed") => () => ({ status, fields: {} });
      const started = await applyReport(database, reduction.id, event("u1"), to("running"), 3_000);
      // COMPLETE took its clock (2 000) before STARTED's, then waited for the lock STARTED held.
      const completed = await applyReport(database, reduction.id, event("u2"), to("completed"), 2_000);
      assert.deepEqual([started?.updatedAt, completed?.updatedAt], [3_000, 3_000]);
      const row = await database.db
        .selectFrom("jobs")
        .select("updated_at")
        .where("id", "=", reduction.id)
        .executeTakeFirstOrThrow();
      assert.equal(Number(row.updated_at), 3_000);
    });

    test("STARTED and COMPLETE handled at the same time always end completed", async () => {
      const { statusAfter } = await import("../../src/coordinator/reduction-lifecycle.ts");
      const decide = (kind: "started" | "complete") => (current: { status: string }) => {
        const status = statusAfter(current.status as "queued", kind);
        return status ? { status, fields: {} } : null;
      };
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) {
        const created = await recordReadyRun(database, ready({ runNumber: 1000 + i }));
        if (created.reduction) ids.push(created.reduction.id);
      }
      await Promise.all(
        ids.flatMap((id) => [
          applyReport(
            database,
            id,
            { messageId: `s${id}`, destination: "/queue/REDUCTION.STARTED", body: "{}" },
            decide("started"),
          ),
          applyReport(
            database,
            id,
            { messageId: `c${id}`, destination: "/queue/REDUCTION.COMPLETE", body: "{}" },
            decide("complete"),
          ),
        ]),
      );
      const runs = await listRuns(database, { instrument: "NOM", limit: 1000 });
      const statuses = runs.filter((r) => r.run_number >= 1000).map((r) => r.status);
      assert.deepEqual(new Set(statuses), new Set(["completed"]));
      assert.equal(statuses.length, 20);
    });
  });
}
