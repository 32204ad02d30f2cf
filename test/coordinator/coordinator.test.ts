import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Coordinator, type ReductionChange } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { createJob, findJob } from "../../src/store/job-store.ts";
import { jobDetail } from "../../src/store/job-views.ts";
import { listRuns, runEvents } from "../../src/store/run-views.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait-for.ts";

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`coordinator on ${backend}`, () => {
    let stack: Stack;
    let coordinator: Coordinator;
    let errors: IncomingMessage[];
    let jobs: IncomingMessage[];
    const changes: ReductionChange[] = [];
    let dataFile: string;

    let drop = async () => {};

    before(async () => {
      let url: string | undefined;
      if (backend === "PostgreSQL") ({ url, drop } = await createTestDatabase());
      stack = await openStack({ instruments: { DEMO: {} } }, url);
      mkdirSync(join(stack.config.scripts.root, "DEMO"), { recursive: true });
      writeFileSync(join(stack.config.scripts.root, "DEMO", "reduce_DEMO.py"), "print('reducing')\n");
      coordinator = await Coordinator.start({
        ...stack,
        log: silentLogger(),
        onChange: (c) => changes.push(c),
      });
      errors = await stack.collect(stack.config.queues.postprocess_error);
      jobs = await stack.collect(stack.config.queues.reduction_data_ready);
      dataFile = join(stack.dir, "archive", "DEMO", "IPTS-1", "nexus", "DEMO_5.nxs.h5");
      mkdirSync(join(dataFile, ".."), { recursive: true });
      writeFileSync(dataFile, "raw");
    });
    after(async () => {
      await coordinator.stop();
      await stack.close();
      await drop();
    });

    const send = (body: unknown) =>
      stack.transport.send(stack.config.queues.data_ready, {
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
    const ready = (over: Record<string, unknown> = {}) => ({
      facility: "SNS",
      instrument: "DEMO",
      ipts: "IPTS-1",
      run_number: 5,
      data_file: dataFile,
      ...over,
    });

    test("a DATA_READY creates the run, reduction version 0 and one job for the workers", async () => {
      await send(ready());
      await waitFor(() => jobs.length === 1, "the job");
      const job = JSON.parse(jobs[0]?.body ?? "{}");
      assert.equal(job.instrument, "DEMO");
      assert.equal(job.run_number, 5);
      assert.equal(job.run_version, 0);
      assert.equal(job.data_file, dataFile);
      assert.match(job.output_dir, /output\/DEMO\/IPTS-1\/shared\/autoreduce$/);
      const runs = await listRuns(stack.database);
      assert.deepEqual(
        runs.map((r) => [r.instrument, r.run_number, r.version, r.status]),
        [["DEMO", 5, 0, "queued"]],
      );
    });

    test("the same DATA_READY delivered twice creates one run and one reduction", async () => {
      await send(ready());
      await send(ready({ information: "re-sent by DAS" }));
      await send(ready({ run_number: 6, data_file: dataFile.replace("_5", "_6") }));
      await waitFor(() => errors.length === 1, "the run-6 error (no file)");
      const all = await listRuns(stack.database, { allVersions: true });
      assert.equal(all.filter((r) => r.run_number === 5).length, 1);
      assert.equal(jobs.length, 1);
    });

    test("a worker's reports move the reduction through running to completed, out of order too", async () => {
      const job = JSON.parse(jobs[0]?.body ?? "{}");
      const q = stack.config.queues;
      await stack.transport.send(q.reduction_complete, {
        body: JSON.stringify({ ...job, output_files: ["/x/out.dat"], started_at: new Date().toISOString() }),
      });
      // COMPLETE is handled first (reports travel on separate queues); the late STARTED must not undo it.
      await waitFor(async () => (await listRuns(stack.database))[0]?.status === "completed", "completed");
      await stack.transport.send(q.reduction_started, {
        body: JSON.stringify({ ...job, information: "node1" }),
      });
      await waitFor(async () => (await runEvents(stack.database, "DEMO", 5)).length === 4, "4 events");
      const [run] = await listRuns(stack.database);
      assert.deepEqual(run?.output_files, ["/x/out.dat"]);
      const events = await runEvents(stack.database, "DEMO", 5);
      assert.deepEqual(
        events.map((e) => e.destination),
        [
          "/queue/POSTPROCESS.DATA_READY",
          "/queue/REDUCTION.DATA_READY",
          "/queue/REDUCTION.COMPLETE",
          "/queue/REDUCTION.STARTED",
        ],
      );
      assert.equal(run?.status, "completed", "a late STARTED does not undo completion");
      assert.ok(changes.some((c) => c.status === "completed" && c.run_number === 5));
    });

    const badCases: Array<[string, string, RegExp]> = [
      ["malformed JSON", "{not json", /not valid JSON/],
      ["a JSON array", "[1,2]", /JSON object/],
      [
        "missing fields",
        JSON.stringify({ facility: "SNS", instrument: "DEMO" }),
        /ipts: missing.*run_number: missing.*data_file: missing/,
      ],
      [
        "a bad run number",
        JSON.stringify({
          facility: "SNS",
          instrument: "DEMO",
          ipts: "IPTS-1",
          run_number: "5a",
          data_file: "/x",
        }),
        /run_number/,
      ],
      [
        "a data file outside the archive",
        JSON.stringify({
          ...{ facility: "SNS", instrument: "DEMO", ipts: "IPTS-1", run_number: 7 },
          data_file: "/etc/passwd",
        }),
        /outside the archive roots/,
      ],
      ["a path escaping the archive with ..", "PLACEHOLDER_DOTDOT", /outside the archive roots/],
      [
        "an unknown instrument",
        JSON.stringify({
          facility: "SNS",
          instrument: "NOPE",
          ipts: "IPTS-1",
          run_number: 7,
          data_file: "/x",
        }),
        /unknown instrument "NOPE".*DEMO/,
      ],
      [
        "a bare path matching no layout",
        "/somewhere/else.nxs",
        /bare path that matches no instrument layout/,
      ],
    ];
    for (const [name, body, reason] of badCases) {
      test(`${name} goes to POSTPROCESS.ERROR with a readable reason and the original body`, async () => {
        const text =
          body === "PLACEHOLDER_DOTDOT"
            ? JSON.stringify(
                ready({
                  run_number: 8,
                  data_file: join(stack.config.archive.roots[0] ?? "", "..", "autoreduce.yaml"),
                }),
              )
            : body;
        const before = errors.length;
        await send(text);
        await waitFor(() => errors.length === before + 1, "the error message");
        const error = JSON.parse(errors[before]?.body ?? "{}");
        assert.match(error.error, reason);
        assert.equal(error.original_body, text);
        assert.equal(error.original_destination, "/queue/POSTPROCESS.DATA_READY");
      });
    }

    test("after bad input the coordinator still accepts good messages, including a legacy bare path", async () => {
      const file = dataFile.replace("_5", "_9");
      writeFileSync(file, "raw");
      await send(file);
      await waitFor(async () => (await listRuns(stack.database, { runNumber: 9 })).length === 1, "run 9");
      const [run] = await listRuns(stack.database, { runNumber: 9 });
      assert.equal(run?.experiment, "IPTS-1");
    });

    test("a worker's reports move a job of another kind (a watch step) by its job id, as a reduction", async () => {
      const { job } = await createJob(stack.database, {
        kind: "watch",
        subject: "demo-calibration",
        reason: "watch",
        startedBy: "watch:demo-calibration",
        scriptText: "echo calibrating",
      });
      assert.ok(job);
      const q = stack.config.queues;
      const seen = changes.length;
      const base = { instrument: "DEMO", run_number: 0, job_id: job.job_id };
      await stack.transport.send(q.reduction_started, {
        body: JSON.stringify({ ...base, host: "node3", executor: "slurm", external_id: "8812" }),
      });
      await waitFor(async () => (await findJob(stack.database, job.job_id))?.status === "running", "running");
      await stack.transport.send(q.reduction_complete, { body: JSON.stringify({ ...base, exit_code: 0 }) });
      await waitFor(
        async () => (await findJob(stack.database, job.job_id))?.status === "completed",
        "completed",
      );
      const done = await findJob(stack.database, job.job_id);
      assert.deepEqual(
        [done?.host, done?.executor, done?.external_id, done?.exit_code],
        ["node3", "slurm", "8812", 0],
      );
      const detail = await jobDetail(stack.database, job.job_id);
      assert.deepEqual(
        detail?.events.map((e) => e.destination),
        ["/queue/REDUCTION.STARTED", "/queue/REDUCTION.COMPLETE"],
      );
      assert.equal(changes.length, seen, "no reduction changed");
      assert.equal(
        (await listRuns(stack.database, { runNumber: 0, allVersions: true })).length,
        0,
        "no fake run",
      );
    });

    test("a report about an unknown job goes to the error queue", async () => {
      const before = errors.length;
      await stack.transport.send(stack.config.queues.reduction_complete, {
        body: JSON.stringify({ instrument: "DEMO", run_number: 4242, job_id: "nope" }),
      });
      await waitFor(() => errors.length === before + 1, "error");
      assert.match(JSON.parse(errors[before]?.body ?? "{}").error, /no reduction is known for DEMO run 4242/);
    });
  });
}
