import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Kysely, sql } from "kysely";
import { createJob } from "../../src/store/job-store.ts";
import { stateMigrations } from "../../src/store/migrations/index.ts";
import { recordReadyRun } from "../../src/store/run-store.ts";
import { listRuns, runEvents, statusCounts } from "../../src/store/run-views.ts";
import { migrate, openSqlDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** Rows as they were written at migration 003 (before jobs). */
const T = 1_700_000_000_000;
const reductionRows = [
  {
    id: 1,
    run_id: 1,
    version: 0,
    job_id: "job-a",
    status: "completed",
    reason: "automatic",
    started_by: null,
    dedupe_key: "file:/a:1:2",
    message: null,
    output_dir: "/out/NOM/IPTS-1/shared/autoreduce",
    output_files: '["/out/a.nxs"]',
    log_file: "/out/reduction_log/NOM_5.log",
    err_file: "/out/reduction_log/NOM_5.err",
    host: "node1",
    attempts: 1,
    exit_code: 0,
    created_at: T,
    dispatched_at: T + 1,
    started_at: T + 2,
    finished_at: T + 3002,
    updated_at: T + 3002,
    script_path: "/scripts/NOM/reduce_NOM.py",
    script_text: "print(1)\n",
    script_hash: "abc",
    variables: '{"standard_vars":{"a":1}}',
    interpreter: "python3",
    convention: "sns",
    description: null,
    variable_set_id: 1,
    queue: "REDUCTION.DATA_READY",
    route: null,
    executor: "local",
    peak_memory_bytes: 1234567,
    retry_at: null,
  },
  {
    id: 2,
    run_id: 1,
    version: 1,
    job_id: "job-b",
    status: "queued",
    reason: "rerun",
    started_by: "alice",
    dedupe_key: null,
    message: null,
    output_dir: "/out/NOM/IPTS-1/shared/autoreduce/v1",
    output_files: "[]",
    log_file: null,
    err_file: null,
    host: null,
    attempts: 0,
    exit_code: null,
    created_at: T + 5000,
    dispatched_at: null,
    started_at: null,
    finished_at: null,
    updated_at: T + 5000,
    script_path: null,
    script_text: null,
    script_hash: null,
    variables: null,
    interpreter: null,
    convention: null,
    description: "new mask",
    variable_set_id: null,
    queue: null,
    route: null,
    executor: null,
    peak_memory_bytes: null,
    retry_at: null,
  },
  {
    id: 3,
    run_id: 2,
    version: 0,
    job_id: "job-c",
    status: "error",
    reason: "automatic",
    started_by: null,
    dedupe_key: "file:/b:1:2",
    message: "REDUCTION: it broke",
    output_dir: "/out/NOM/IPTS-2/shared/autoreduce",
    output_files: "[]",
    log_file: "/out/reduction_log/NOM_6.log",
    err_file: "/out/reduction_log/NOM_6.err",
    host: "node2",
    attempts: 2,
    exit_code: 1,
    created_at: T + 100,
    dispatched_at: T + 101,
    started_at: T + 102,
    finished_at: T + 200,
    updated_at: T + 200,
    script_path: "/scripts/NOM/reduce_NOM.py",
    script_text: "raise SystemExit(1)\n",
    script_hash: "def",
    variables: null,
    interpreter: "python3",
    convention: "sns",
    description: null,
    variable_set_id: null,
    queue: "REDUCTION.DATA_READY",
    route: "big-files",
    executor: "local",
    peak_memory_bytes: 99,
    retry_at: null,
  },
];
const eventRows = [
  {
    id: 1,
    run_id: 1,
    reduction_id: 1,
    destination: "/queue/POSTPROCESS.DATA_READY",
    message_id: "m1",
    body: '{"run_number":5}',
    created_at: T,
  },
  {
    id: 2,
    run_id: 1,
    reduction_id: 1,
    destination: "REDUCTION.DATA_READY",
    message_id: "sent:1",
    body: "{}",
    created_at: T + 1,
  },
  {
    id: 3,
    run_id: 1,
    reduction_id: 1,
    destination: "/queue/REDUCTION.COMPLETE",
    message_id: "m2",
    body: "{}",
    created_at: T + 3002,
  },
  {
    id: 4,
    run_id: 1,
    reduction_id: 2,
    destination: "/queue/REDUCTION.REQUEST",
    message_id: "m3",
    body: "{}",
    created_at: T + 5000,
  },
  {
    id: 5,
    run_id: 2,
    reduction_id: 3,
    destination: "/queue/POSTPROCESS.DATA_READY",
    message_id: "m4",
    body: "{}",
    created_at: T + 100,
  },
  {
    id: 6,
    run_id: 2,
    reduction_id: null,
    destination: "note",
    message_id: null,
    body: "not json",
    created_at: T + 150,
  },
];

/** A database as migration 003 left it, with two runs, three reduction versions and their events. */
async function seedAt003(url: string): Promise<void> {
  const database = openSqlDatabase<unknown>(url);
  try {
    const all = stateMigrations(database.dialect);
    const upTo003 = Object.fromEntries(Object.entries(all).filter(([name]) => name < "004"));
    // A later number that ran first (as 005 did on the main line before 004 was merged).
    const later = { "005-later": { up: async () => {} } };
    await migrate(database, { ...upTo003, ...later }, "state_migrations");
    const db = database.db as Kysely<Record<string, Record<string, unknown>>>;
    await db
      .insertInto("instruments")
      .values({ id: 1, name: "NOM", facility: "SNS", paused: 0, created_at: T })
      .execute();
    await db
      .insertInto("experiments")
      .values([
        { id: 1, reference: "IPTS-1", created_at: T },
        { id: 2, reference: "IPTS-2", created_at: T },
      ])
      .execute();
    const run = (id: number, experiment: number, runNumber: number) => ({
      id,
      instrument_id: 1,
      experiment_id: experiment,
      run_number: runNumber,
      data_file: `/archive/NOM/NOM_${runNumber}.nxs.h5`,
      title: `run ${runNumber}`,
      start_time: null,
      end_time: null,
      metadata: "{}",
      created_at: T,
      updated_at: T,
    });
    await db
      .insertInto("runs")
      .values([run(1, 1, 5), run(2, 2, 6)])
      .execute();
    await db
      .insertInto("variable_sets")
      .values({
        id: 1,
        instrument_id: 1,
        scope: "default",
        start_run: null,
        experiment: null,
        values: "{}",
        source: "script",
        script_hash: null,
        created_by: null,
        created_at: T,
        deleted_at: null,
        deleted_by: null,
      })
      .execute();
    await db.insertInto("reductions").values(reductionRows).execute();
    await db.insertInto("run_events").values(eventRows).execute();
    if (database.dialect === "postgres") {
      // Explicit ids do not move PostgreSQL's sequences; the application never gives ids.
      await sql`select setval('reductions_id_seq', 3)`.execute(db);
      await sql`select setval('run_events_id_seq', 6)`.execute(db);
    }
  } finally {
    await database.close();
  }
}

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`migration 004 (jobs) on ${backend}, on a database at 003 that also ran a later number`, () => {
    let database: SqlDatabase;
    let cleanup: () => Promise<void>;
    before(async () => {
      let url: string;
      if (backend === "SQLite") {
        const dir = tempDir();
        url = `sqlite:${dir.path}/state.db`;
        cleanup = async () => dir.cleanup();
      } else {
        const scratch = await createTestDatabase();
        url = scratch.url;
        cleanup = scratch.drop;
      }
      await seedAt003(url);
      // Every migration of this version, with the later number kept, as on a database of main.
      const openAll = async () => {
        const opened = openSqlDatabase(url);
        const later = { "005-later": { up: async () => {} } };
        await migrate(
          opened as SqlDatabase<unknown>,
          { ...stateMigrations(opened.dialect), ...later },
          "state_migrations",
        );
        return opened;
      };
      database = await openAll();
    });
    after(async () => {
      await database.close();
      await cleanup();
    });

    test("every reduction is kept, column for column, as a job of kind reduction", async () => {
      const jobs = await database.db.selectFrom("jobs").selectAll().orderBy("id").execute();
      assert.deepEqual(
        // Columns added by later migrations (010: hidden by an operator) start empty.
        jobs.map(({ kind, subject, arguments: args, external_id, hidden_at, hidden_by, ...rest }) => {
          assert.deepEqual(
            [kind, subject, args, external_id, hidden_at, hidden_by],
            ["reduction", null, null, null, null, null],
          );
          return rest;
        }),
        reductionRows,
      );
    });

    test("every event is kept, its reduction_id now job_row_id", async () => {
      const events = await database.db.selectFrom("job_events").selectAll().orderBy("id").execute();
      assert.deepEqual(
        events,
        eventRows.map(({ reduction_id, ...rest }) => ({ ...rest, job_row_id: reduction_id })),
      );
    });

    test("the run views read the migrated rows as before", async () => {
      const runs = await listRuns(database, { allVersions: true });
      assert.deepEqual(
        runs.map((r) => [r.run_number, r.version, r.status, r.experiment, r.output_dir, r.job_id]),
        [
          [5, 1, "queued", "IPTS-1", "/out/NOM/IPTS-1/shared/autoreduce/v1", "job-b"],
          [6, 0, "error", "IPTS-2", "/out/NOM/IPTS-2/shared/autoreduce", "job-c"],
          [5, 0, "completed", "IPTS-1", "/out/NOM/IPTS-1/shared/autoreduce", "job-a"],
        ],
      );
      const [first] = runs.filter((r) => r.job_id === "job-a");
      assert.equal(first?.duration_seconds, 3);
      assert.deepEqual(first?.output_files, ["/out/a.nxs"]);
      assert.equal(first?.peak_memory_bytes, 1234567);
      assert.deepEqual(
        (await listRuns(database)).map((r) => [r.run_number, r.version]),
        [
          [5, 1],
          [6, 0],
        ],
      );
      const timeline = await runEvents(database, "NOM", 5);
      assert.deepEqual(
        timeline.map((e) => [e.destination, e.version]),
        [
          ["/queue/POSTPROCESS.DATA_READY", 0],
          ["REDUCTION.DATA_READY", 0],
          ["/queue/REDUCTION.COMPLETE", 0],
          ["/queue/REDUCTION.REQUEST", 1],
        ],
      );
      assert.deepEqual(
        (await runEvents(database, "NOM", 6)).map((e) => e.body),
        [{}, "not json"],
      );
      assert.deepEqual(await statusCounts(database), { completed: 1, error: 1, queued: 1 });
    });

    test("new rows follow the migrated ones, and a reduction still needs its run and version", async () => {
      const created = await recordReadyRun(database, {
        facility: "SNS",
        instrument: "NOM",
        experiment: "IPTS-2",
        runNumber: 6,
        dataFile: "/archive/NOM/NOM_6.nxs.h5",
        title: "again",
        startTime: null,
        endTime: null,
        metadata: {},
        messageId: "m-new",
        destination: "/queue/POSTPROCESS.DATA_READY",
        body: "{}",
        dedupeKey: null,
        reason: "manual",
        startedBy: null,
        outputDir: (v) => `/out/v${v}`,
      });
      assert.equal(created.kind, "created");
      assert.deepEqual([created.reduction?.id, created.reduction?.version], [4, 1]);
      const watch = await createJob(database, {
        kind: "watch",
        subject: "calibration",
        reason: "watch",
        startedBy: null,
      });
      assert.equal(watch.job?.id, 5);
      await assert.rejects(
        sql`insert into jobs (kind, job_id, status, reason, created_at, updated_at) values ('reduction', 'x', 'queued', 'automatic', 1, 1)`.execute(
          database.db,
        ),
        /check|constraint/i,
        "a reduction without a run is refused",
      );
      await assert.rejects(
        sql`insert into jobs (kind, job_id, status, reason, created_at, updated_at) values ('watch', 'y', 'queued', 'watch', 1, 1)`.execute(
          database.db,
        ),
        /check|constraint/i,
        "a job of another kind says what it belongs to",
      );
      await assert.rejects(
        sql`insert into job_events (job_row_id, destination, body, created_at) values (999, 'x', '{}', 1)`.execute(
          database.db,
        ),
        /foreign key/i,
        "events still refer to existing jobs",
      );
    });
  });
}
