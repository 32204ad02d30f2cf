import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { silentLogger } from "../../src/logging/logger.ts";
import { createJob } from "../../src/store/job-store.ts";
import { recordReadyRun } from "../../src/store/run-store.ts";
import { listRuns } from "../../src/store/run-views.ts";
import { createToken } from "../../src/store/token-store.ts";
import { startWebServer } from "../../src/web/web-server.tsx";
import { openStack, type Stack } from "../helpers/in-process.ts";

/** The fields of `runs --json` and `GET /api/v1/runs` before jobs came: the operator contract. */
const RUN_FIELDS = [
  "instrument",
  "run_number",
  "experiment",
  "status",
  "version",
  "data_file",
  "output_dir",
  "title",
  "job_id",
  "reason",
  "started_by",
  "message",
  "output_files",
  "log_file",
  "err_file",
  "host",
  "attempts",
  "created_at",
  "started_at",
  "finished_at",
  "script_path",
  "script_hash",
  "interpreter",
  "variables",
  "description",
  "queue",
  "route",
  "executor",
  "peak_memory_bytes",
  "retry_at",
  "duration_seconds",
];

describe("JSON API: jobs of every kind, read-only", () => {
  let stack: Stack;
  let app: FastifyInstance;
  let url = "";
  let watchJobId = "";
  let token = "";
  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  before(async () => {
    stack = await openStack({ instruments: { MARI: {} } });
    await recordReadyRun(stack.database, {
      facility: "SNS",
      instrument: "MARI",
      experiment: "RB1",
      runNumber: 10,
      dataFile: "/x/MARI_10.nxs",
      title: null,
      startTime: null,
      endTime: null,
      metadata: {},
      messageId: "m10",
      destination: "/queue/POSTPROCESS.DATA_READY",
      body: "{}",
      dedupeKey: null,
      reason: "automatic",
      startedBy: null,
      outputDir: () => "/out",
    });
    const watch = await createJob(stack.database, {
      kind: "watch",
      subject: "mari-calibration",
      reason: "watch",
      startedBy: "watch:mari-calibration",
      event: { messageId: "w1", destination: "watch", body: '{"changed":"/cal.yaml"}' },
    });
    watchJobId = watch.job?.job_id ?? "";
    for (const subject of ["t1", "t2", "t3"]) {
      await createJob(stack.database, { kind: "trigger", subject, reason: "trigger", startedBy: "beamline" });
    }
    token = (await createToken(stack.database, { name: "dashboard", role: "read" })).token;
    ({ app, url } = await startWebServer({ ...stack, log: silentLogger(), host: "127.0.0.1", port: 0 }));
  });
  after(async () => {
    await app.close();
    await stack.close();
  });

  test("GET /api/v1/jobs lists every kind alike, newest first", async () => {
    const { status, body } = await get("/api/v1/jobs");
    assert.equal(status, 200);
    const jobs = body.jobs as Array<{ kind: string; subject: string }>;
    assert.deepEqual(
      jobs.map((j) => [j.kind, j.subject]),
      [
        ["trigger", "t3"],
        ["trigger", "t2"],
        ["trigger", "t1"],
        ["watch", "mari-calibration"],
        ["reduction", "MARI run 10"],
      ],
    );
    assert.equal(body.next_before, null, "the only page");
  });

  test("filters and keyset pages: next_before asks for the rest", async () => {
    const first = await get("/api/v1/jobs?kind=trigger&limit=2");
    const page = first.body.jobs as Array<{ subject: string; id: number }>;
    assert.deepEqual(
      page.map((j) => j.subject),
      ["t3", "t2"],
    );
    assert.equal(first.body.next_before, page[1]?.id);
    const rest = await get(`/api/v1/jobs?kind=trigger&limit=2&before=${first.body.next_before}`);
    assert.deepEqual(
      (rest.body.jobs as Array<{ subject: string }>).map((j) => j.subject),
      ["t1"],
    );
    assert.equal(rest.body.next_before, null);
    const queued = await get("/api/v1/jobs?status=queued&subject=mari-calibration");
    assert.deepEqual(
      (queued.body.jobs as Array<{ kind: string }>).map((j) => j.kind),
      ["watch"],
    );
  });

  test("a bad filter is a 400 that names it", async () => {
    const { status, body } = await get("/api/v1/jobs?kind=calibration");
    assert.equal(status, 400);
    assert.match(String(body.detail), /kind/);
  });

  test("GET /api/v1/jobs/<job_id> shows one job of any kind with its events; unknown is a 404", async () => {
    const { status, body } = await get(`/api/v1/jobs/${watchJobId}`);
    assert.equal(status, 200);
    assert.equal((body.job as { kind: string }).kind, "watch");
    assert.deepEqual(
      (body.events as Array<{ destination: string; body: unknown }>).map((e) => [e.destination, e.body]),
      [["watch", { changed: "/cal.yaml" }]],
    );
    assert.equal((await get("/api/v1/jobs/no-such-job")).status, 404);
  });

  test("without a token the job list is 401 and a run list with nothing open to anonymous readers too", async () => {
    for (const path of ["/api/v1/jobs", "/api/v1/runs", "/api/v1/status"])
      assert.equal((await fetch(`${url}${path}`)).status, 401, path);
  });

  test("GET /api/v1/runs is unchanged: reductions only, the same objects as before", async () => {
    const { status, body } = await get("/api/v1/runs");
    assert.equal(status, 200);
    const runs = body as unknown as Array<Record<string, unknown>>;
    assert.equal(runs.length, 1);
    assert.deepEqual(Object.keys(runs[0] ?? {}).sort(), [...RUN_FIELDS].sort());
    assert.deepEqual(runs, JSON.parse(JSON.stringify(await listRuns(stack.database))));
  });
});
