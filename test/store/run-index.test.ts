import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Kysely, sql } from "kysely";
import type { JobStatus } from "../../src/messages/job-status.ts";
import { stateMigrations } from "../../src/store/migrations/index.ts";
import { applyReport, cancelLatest } from "../../src/store/reduction-store.ts";
import {
  type RunFilter,
  type RunIndexScope,
  type RunSort,
  runIndexPage,
  runNumbersMatching,
  visibleInstruments,
} from "../../src/store/run-index.ts";
import { type ReductionRow, recordReadyRun } from "../../src/store/run-store.ts";
import { listRuns } from "../../src/store/run-views.ts";
import {
  migrate,
  openSqlDatabase,
  openStateDatabase,
  type SqlDatabase,
} from "../../src/store/state-database.ts";
import { openBackendDatabase } from "../helpers/backend-database.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { tempDir } from "../helpers/temp-dir.ts";

let message = 0;
/** Records a version of a run (a new run, or a re-run of it) as the coordinator does. */
async function record(
  database: SqlDatabase,
  run: { instrument: string; run: number; experiment: string; title?: string; status?: JobStatus },
  now = Date.now(),
): Promise<ReductionRow> {
  const result = await recordReadyRun(
    database,
    {
      facility: "ISIS",
      instrument: run.instrument,
      experiment: run.experiment,
      runNumber: run.run,
      dataFile: `/archive/${run.instrument}_${run.run}.nxs`,
      title: run.title ?? `run ${run.run}`,
      startTime: null,
      endTime: null,
      metadata: {},
      messageId: `m-${++message}`,
      destination: "test",
      body: "{}",
      dedupeKey: null,
      reason: "automatic",
      startedBy: null,
      outputDir: () => null,
      ...(run.status ? { initial: { status: run.status, message: "" } } : {}),
    },
    now,
  );
  assert.equal(result.kind, "created");
  return result.reduction as ReductionRow;
}

/** A worker report moving a job to `status`. */
async function report(database: SqlDatabase, job: ReductionRow, status: JobStatus): Promise<void> {
  await applyReport(
    database,
    job.id,
    { messageId: `r-${++message}`, destination: "report", body: "{}" },
    () => ({
      status,
      fields: {},
    }),
  );
}

/** Every run whose denormalised columns differ from its latest reduction version. */
async function disagreements(database: SqlDatabase) {
  const { rows } = await sql<{ id: number }>`
    select runs.id from runs
    left join jobs j on j.id = (select j2.id from jobs j2 where j2.run_id = runs.id and j2.kind = 'reduction' order by j2.version desc limit 1)
    where runs.latest_job_id is distinct from j.id
       or runs.latest_version is distinct from j.version
       or runs.latest_status is distinct from j.status`.execute(database.db);
  return rows;
}

const ALL: RunIndexScope = { all: true };

/** Every page of the index, following `older` cursors; the run keys in order. */
async function walk(
  database: SqlDatabase,
  scope: RunIndexScope,
  filter: RunFilter,
  sort: RunSort,
  size: number,
) {
  const seen: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await runIndexPage(database, scope, filter, sort, { after, size });
    seen.push(...page.rows.map((r) => `${r.instrument}/${r.run_number}`));
    if (!page.older) return seen;
    after = page.older;
  }
  throw new Error("no last page");
}

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`runs index store (${backend})`, () => {
    let database: SqlDatabase;
    let close: () => Promise<void>;
    before(async () => {
      ({ database, close } = await openBackendDatabase(backend));
    });
    after(() => close());

    test("the run's latest version, number and status follow creates, reports, re-runs and cancels", async () => {
      const v0 = await record(database, { instrument: "MARI", run: 1, experiment: "RB1" });
      await record(database, { instrument: "MARI", run: 2, experiment: "RB1", status: "skipped" });
      await report(database, v0, "running");
      await report(database, v0, "completed");
      const v1 = await record(database, { instrument: "MARI", run: 1, experiment: "RB1" });
      await report(database, v1, "running");
      // A late report about the older version changes that version only.
      await report(database, v0, "error");
      await cancelLatest(database, "MARI", 1, "alice");
      const v2 = await record(database, { instrument: "MARI", run: 1, experiment: "RB1" });
      await report(database, v2, "retrying");
      assert.deepEqual(await disagreements(database), []);
      const runs = await database.db
        .selectFrom("runs")
        .select(["run_number", "latest_job_id", "latest_version", "latest_status"])
        .orderBy("run_number")
        .execute();
      assert.deepEqual(
        runs.map((r) => [
          Number(r.run_number),
          Number(r.latest_job_id),
          Number(r.latest_version),
          r.latest_status,
        ]),
        [
          [1, v2.id, 2, "retrying"],
          [2, Number(runs[1]?.latest_job_id), 0, "skipped"],
        ],
      );
      // listRuns reads the latest version from the run now: the same answer as every version's maximum.
      const latest = await listRuns(database, { instrument: "MARI" });
      const every = await listRuns(database, { instrument: "MARI", allVersions: true });
      const byMax = every.filter(
        (v) =>
          v.version === Math.max(...every.filter((o) => o.run_number === v.run_number).map((o) => o.version)),
      );
      assert.deepEqual(latest, byMax);
    });

    describe("pages", () => {
      const T = Date.UTC(2026, 0, 1);
      before(async () => {
        // 3 instruments × 40 runs; run numbers interleave so that both orders are tested.
        for (let i = 0; i < 120; i++) {
          const instrument = ["LET", "WISH", "OSIRIS"][i % 3] ?? "";
          const status: JobStatus = i % 4 === 0 ? "error" : "completed";
          const title = i % 10 === 0 ? `Vanadium 100% calib_${i}` : `sample ${i} at 5 K`;
          await record(
            database,
            { instrument, run: 1000 + Math.floor(i / 3), experiment: `EXP${i % 5}`, title, status },
            T + i * 3_600_000,
          );
        }
      });

      test("keyset pages in every order: no duplicate, no gap, same as one long page", async () => {
        for (const sort of ["newest", "run-asc", "run-desc"] as const) {
          const paged = await walk(database, ALL, { instrument: "LET" }, sort, 7);
          const whole: string[] = (
            await runIndexPage(database, ALL, { instrument: "LET" }, sort, { size: 1000 })
          ).rows.map((r) => `${r.instrument}/${r.run_number}`);
          assert.equal(whole.length, 40);
          assert.deepEqual(paged, whole, sort);
          assert.equal(new Set(paged).size, 40);
        }
        const newest = (await runIndexPage(database, ALL, { instrument: "LET" }, "newest", { size: 3 })).rows;
        assert.deepEqual(
          newest.map((r) => r.run_number),
          [1039, 1038, 1037],
        );
        const ascending = (
          await runIndexPage(database, ALL, { runs: [[1000, 2000]] }, "run-asc", { size: 4 })
        ).rows;
        assert.deepEqual(
          ascending.map((r) => r.run_number),
          [1000, 1000, 1000, 1001],
        );
      });

      test("newer pages walk back to the first, which then has no newer link", async () => {
        const first = await runIndexPage(database, ALL, { instrument: "WISH" }, "newest", { size: 5 });
        assert.equal(first.newer, null);
        const second = await runIndexPage(database, ALL, { instrument: "WISH" }, "newest", {
          after: first.older ?? "",
          size: 5,
        });
        const third = await runIndexPage(database, ALL, { instrument: "WISH" }, "newest", {
          after: second.older ?? "",
          size: 5,
        });
        const back = await runIndexPage(database, ALL, { instrument: "WISH" }, "newest", {
          before: third.newer ?? "",
          size: 5,
        });
        assert.deepEqual(back.rows, second.rows);
        const home = await runIndexPage(database, ALL, { instrument: "WISH" }, "newest", {
          before: back.newer ?? "",
          size: 5,
        });
        assert.deepEqual(home.rows, first.rows);
        assert.equal(home.newer, null);
      });

      test("a cursor of another sort, or made up, is refused as bad input", async () => {
        const first = await runIndexPage(database, ALL, {}, "newest", { size: 2 });
        await assert.rejects(
          runIndexPage(database, ALL, {}, "run-asc", { after: first.older ?? "" }),
          /not valid/,
        );
        await assert.rejects(
          runIndexPage(database, ALL, {}, "newest", { after: "not-a-cursor" }),
          /not valid/,
        );
      });

      test("filters: status, experiment, dates, run ranges, title text in any case", async () => {
        const keys = async (filter: RunFilter) =>
          (await runIndexPage(database, ALL, filter, "run-asc", { size: 500 })).rows.map(
            (r) => `${r.instrument}/${r.run_number}`,
          );
        const errors = await keys({ instrument: "OSIRIS", status: "error" });
        assert.ok(errors.length > 0);
        const osiris = (await runIndexPage(database, ALL, { instrument: "OSIRIS" }, "run-asc", { size: 500 }))
          .rows;
        assert.deepEqual(
          errors,
          osiris.filter((r) => r.status === "error").map((r) => `${r.instrument}/${r.run_number}`),
        );
        assert.equal((await keys({ experiment: "exp3" })).length, 24, "references in any case");
        assert.deepEqual(await keys({ from: T, to: T + 3 * 3_600_000 }), [
          "LET/1000",
          "WISH/1000",
          "OSIRIS/1000",
        ]);
        assert.deepEqual(
          await keys({
            instrument: "LET",
            runs: [
              [1005, 1006],
              [1010, 1010],
            ],
          }),
          ["LET/1005", "LET/1006", "LET/1010"],
        );
        const vanadium = await keys({ title: "VANADIUM" });
        assert.equal(vanadium.length, 12);
        assert.deepEqual(await keys({ title: "100%" }), vanadium, "% is a character, not a wildcard");
        assert.deepEqual(await keys({ title: "calib_3" }), ["LET/1010"]);
        assert.deepEqual(await keys({ title: "sample_" }), [], "_ is a character, not a wildcard");
        assert.deepEqual(await keys({ title: 'he said "x' }), []);
        assert.equal((await keys({ title: "5 K", instrument: "LET" })).length, 36, "short text: scanned");
        assert.deepEqual(await keys({ instrument: "NOPE" }), []);
        assert.deepEqual(await keys({ experiment: "RB404" }), []);
      });

      test("title search pages newest first without duplicates (trigram index on SQLite)", async () => {
        const paged = await walk(database, ALL, { title: "sample" }, "newest", 9);
        assert.equal(paged.length, 108);
        assert.equal(new Set(paged).size, 108);
        const whole = (await runIndexPage(database, ALL, { title: "sample" }, "newest", { size: 500 })).rows;
        assert.deepEqual(
          paged,
          whole.map((r) => `${r.instrument}/${r.run_number}`),
        );
      });

      test("a viewer's scope: their instruments plus their experiments' runs elsewhere", async () => {
        const scope: RunIndexScope = { all: false, instruments: ["LET"], experiments: ["EXP1"] };
        const rows = (await runIndexPage(database, scope, {}, "newest", { size: 500 })).rows;
        assert.ok(rows.every((r) => r.instrument === "LET" || r.experiment === "EXP1"));
        assert.equal(rows.length, 40 + 16);
        const wish = (await runIndexPage(database, scope, { instrument: "WISH" }, "newest", { size: 500 }))
          .rows;
        assert.ok(wish.length > 0 && wish.every((r) => r.experiment === "EXP1"));
        const nothing: RunIndexScope = { all: false, instruments: [], experiments: [] };
        assert.deepEqual((await runIndexPage(database, nothing, {}, "newest")).rows, []);
        assert.deepEqual(await visibleInstruments(database, scope), ["LET", "OSIRIS", "WISH"]);
        assert.deepEqual(
          await visibleInstruments(database, { all: false, instruments: ["LET"], experiments: [] }),
          ["LET"],
        );
      });

      test("the run numbers a bulk re-run would name, ascending, at most as many as asked", async () => {
        const numbers = await runNumbersMatching(database, ALL, { instrument: "LET", status: "error" }, 1000);
        assert.deepEqual(
          numbers,
          [...numbers].sort((a, b) => a - b),
        );
        assert.equal(numbers.length, 10);
        assert.equal((await runNumbersMatching(database, ALL, { instrument: "LET" }, 5)).length, 5);
        assert.deepEqual(
          await runNumbersMatching(database, ALL, { instrument: "LET", title: "vanadium" }, 100),
          [1000, 1010, 1020, 1030],
        );
      });
    });
  });

  test(`migration 009 fills the latest version of runs recorded before it (${backend})`, async () => {
    const scratch =
      backend === "SQLite"
        ? (() => {
            const dir = tempDir();
            return { url: `sqlite:${dir.path}/state.db`, drop: async () => dir.cleanup() };
          })()
        : await createTestDatabase();
    try {
      const old = openSqlDatabase<unknown>(scratch.url);
      const upTo008 = Object.fromEntries(
        Object.entries(stateMigrations(old.dialect)).filter(([name]) => name < "009"),
      );
      await migrate(old, upTo008, "state_migrations");
      const db = old.db as Kysely<Record<string, Record<string, unknown>>>;
      await db
        .insertInto("instruments")
        .values({ id: 1, name: "NOM", facility: "SNS", paused: 0, created_at: 1 })
        .execute();
      await db.insertInto("experiments").values({ id: 1, reference: "IPTS-1", created_at: 1 }).execute();
      const run = (id: number, title: string) => ({
        id,
        instrument_id: 1,
        experiment_id: 1,
        run_number: id,
        data_file: `/a/${id}`,
        title,
        metadata: "{}",
        created_at: id,
        updated_at: id,
      });
      await db
        .insertInto("runs")
        .values([run(1, "Vanadium rod"), run(2, "empty can")])
        .execute();
      const job = (id: number, runId: number, version: number, status: string) => ({
        id,
        kind: "reduction",
        run_id: runId,
        version,
        job_id: `j${id}`,
        status,
        reason: "automatic",
        output_files: "[]",
        attempts: 0,
        created_at: id,
        updated_at: id,
      });
      await db
        .insertInto("jobs")
        .values([job(1, 1, 0, "completed"), job(2, 1, 1, "error"), job(3, 2, 0, "queued")])
        .execute();
      await old.close();
      const database = await openStateDatabase(scratch.url);
      try {
        assert.deepEqual(await disagreements(database), []);
        const rows = (await runIndexPage(database, ALL, { title: "vanadium" }, "newest")).rows;
        assert.deepEqual(
          rows.map((r) => [r.run_number, r.status, r.version]),
          [[1, "error", 1]],
          "titles recorded before are searchable",
        );
      } finally {
        await database.close();
      }
    } finally {
      await scratch.drop();
    }
  });
}
