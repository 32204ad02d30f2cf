import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { statusAfter } from "../../src/coordinator/reduction-lifecycle.ts";
import { asReduction, createJob, findJob, NotAReductionError } from "../../src/store/job-store.ts";
import { jobDetail, listJobs } from "../../src/store/job-views.ts";
import { applyReport, UnknownJobError, undispatchedReductions } from "../../src/store/reduction-store.ts";
import { recordReadyRun } from "../../src/store/run-store.ts";
import { listRuns, statusCounts } from "../../src/store/run-views.ts";
import type { SqlDatabase } from "../../src/store/state-database.ts";
import { openBackendDatabase } from "../helpers/backend-database.ts";

const reductionOf = (runNumber: number) => ({
  facility: "SNS",
  instrument: "NOM",
  experiment: "IPTS-9",
  runNumber,
  dataFile: `/archive/NOM/NOM_${runNumber}.nxs.h5`,
  title: null,
  startTime: null,
  endTime: null,
  metadata: {},
  messageId: `dr-${runNumber}-${Math.random()}`,
  destination: "/queue/POSTPROCESS.DATA_READY",
  body: "{}",
  dedupeKey: null,
  reason: "automatic",
  startedBy: null,
  outputDir: (v: number) => `/out/NOM/${runNumber}/v${v}`,
});

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`jobs of every kind on ${backend}`, () => {
    let database: SqlDatabase;
    let close: () => Promise<void>;
    before(async () => {
      ({ database, close } = await openBackendDatabase(backend));
    });
    after(() => close());

    test("a watch step is created queued, with its command, hash, arguments and request as its first event", async () => {
      const request = { messageId: "watch-1", destination: "watch", body: '{"changed":"/cal/nom.yaml"}' };
      const created = await createJob(database, {
        kind: "watch",
        subject: "nom-calibration",
        reason: "watch",
        startedBy: "watch:nom-calibration",
        scriptPath: "/opt/cal/calibrate.py",
        scriptText: "print('calibrating')\n",
        interpreter: "python3",
        arguments: ["--config", "/cal/nom.yaml"],
        event: request,
      });
      assert.equal(created.kind, "created");
      const job = created.job;
      assert.ok(job);
      assert.deepEqual([job.kind, job.status, job.run_id, job.version], ["watch", "queued", null, null]);
      assert.equal(job.script_hash, createHash("sha256").update("print('calibrating')\n").digest("hex"));
      const again = await createJob(database, {
        kind: "watch",
        subject: "nom-calibration",
        reason: "watch",
        startedBy: null,
        event: request,
      });
      assert.deepEqual(
        [again.kind, again.job?.id],
        ["duplicate", job.id],
        "a redelivered request makes no second job",
      );
      const detail = await jobDetail(database, job.job_id);
      assert.deepEqual(detail?.job.arguments, ["--config", "/cal/nom.yaml"]);
      assert.equal(detail?.job.subject, "nom-calibration");
      assert.equal(detail?.script_text, "print('calibrating')\n");
      assert.deepEqual(detail?.events, [
        { destination: "watch", at: detail?.events[0]?.at, body: { changed: "/cal/nom.yaml" } },
      ]);
      assert.throws(() => asReduction(job), NotAReductionError);
    });

    test("a trigger moves through the reductions' lifecycle by the same report path", async () => {
      const { job } = await createJob(database, {
        kind: "trigger",
        subject: "p21-tomo",
        reason: "trigger",
        startedBy: "p21-beamline",
        scriptText: "sbatch tomo.sh",
      });
      assert.ok(job);
      const report = (kind: "started" | "complete", messageId: string, fields: object) =>
        applyReport(database, job.id, { messageId, destination: kind, body: "{}" }, (current) => {
          const status = statusAfter(current.status, kind);
          return status ? { status, fields } : null;
        });
      await report("started", "t-1", {
        host: "node7",
        executor: "slurm",
        external_id: "4711",
        started_at: 1000,
      });
      await report("complete", "t-2", { exit_code: 0, finished_at: 3000 });
      assert.equal(await report("complete", "t-2", {}), null, "a redelivered report changes nothing");
      const found = await findJob(database, job.job_id);
      assert.deepEqual(
        [found?.status, found?.host, found?.executor, found?.external_id, found?.exit_code],
        ["completed", "node7", "slurm", "4711", 0],
      );
      const detail = await jobDetail(database, job.job_id);
      assert.deepEqual(
        detail?.events.map((e) => e.destination),
        ["started", "complete"],
      );
      assert.equal(detail?.job.duration_seconds, 2);
    });

    test("jobs of every kind are listed alike, filtered by kind, status and subject, a page at a time", async () => {
      const reduction = await recordReadyRun(database, reductionOf(7));
      const byJobId = await applyReport(
        database,
        { jobId: reduction.reduction?.job_id ?? "" },
        { messageId: "r7-seen", destination: "seen", body: "{}" },
        () => null,
      );
      assert.deepEqual(byJobId?.run, { instrument: "NOM", run_number: 7 }, "a reduction's run as recorded");
      await assert.rejects(
        applyReport(
          database,
          { jobId: "no-such-job" },
          { messageId: "x", destination: "x", body: "{}" },
          () => null,
        ),
        UnknownJobError,
      );
      for (let i = 0; i < 5; i++) {
        await createJob(database, { kind: "live", subject: `LIVE${i % 2}`, reason: "live", startedBy: null });
      }
      const all = await listJobs(database, { limit: 1000 });
      assert.deepEqual(new Set(all.map((j) => j.kind)), new Set(["watch", "trigger", "reduction", "live"]));
      const fromRun = all.find((j) => j.kind === "reduction");
      assert.deepEqual(
        [fromRun?.job_id, fromRun?.subject, fromRun?.instrument, fromRun?.run_number, fromRun?.version],
        [reduction.reduction?.job_id, "NOM run 7", "NOM", 7, 0],
      );
      assert.deepEqual(
        (await listJobs(database, { kind: "live", subject: "LIVE1" })).map((j) => j.subject),
        ["LIVE1", "LIVE1"],
      );
      assert.deepEqual(
        (await listJobs(database, { status: "completed" })).map((j) => j.subject),
        ["p21-tomo"],
      );
      const pages: string[][] = [];
      let before: number | undefined;
      for (;;) {
        const page = await listJobs(database, { kind: "live", limit: 2, before });
        if (page.length === 0) break;
        pages.push(page.map((j) => j.job_id));
        before = page.at(-1)?.id;
      }
      assert.deepEqual(
        pages.map((p) => p.length),
        [2, 2, 1],
      );
      assert.equal(new Set(pages.flat()).size, 5, "no job twice, none left out");
    });

    test("run views, status counts and re-sending see reductions only", async () => {
      const runs = await listRuns(database, { allVersions: true });
      assert.deepEqual(
        runs.map((r) => r.run_number),
        [7],
      );
      assert.deepEqual(await statusCounts(database), { queued: 1 });
      assert.deepEqual(
        (await undispatchedReductions(database)).map((r) => r.kind),
        ["reduction"],
        "queued jobs of other kinds are not sent as reductions",
      );
    });
  });
}
