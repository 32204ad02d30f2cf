import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { describeIssues } from "../messages/message-error.ts";
import { jobDetail, listJobs } from "../store/job-views.ts";
import { listRuns, runEvents, scriptTexts, statusCounts } from "../store/run-views.ts";
import { JOB_KINDS } from "../store/schema.ts";
import { variableSets } from "../store/variable-store.ts";
import { queueDepths } from "../transport/queue-depths.ts";
import { canAdminister, canReadInstrument, canReadRun, runScope } from "./auth/viewer.ts";
import type { WebContext } from "./web-context.ts";

const InstrumentName = z.string().regex(/^[A-Za-z0-9_]+$/);
const RunsQuery = z.strictObject({
  instrument: InstrumentName.optional(),
  all_versions: z.enum(["true", "false", "1", "0"]).optional(),
  limit: z.coerce.number().int().min(1).max(5000).optional(),
});
const JobsQuery = z.strictObject({
  kind: z.enum(JOB_KINDS).optional(),
  status: z
    .enum(["queued", "running", "retrying", "completed", "error", "disabled", "skipped", "cancelled"])
    .optional(),
  subject: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  before: z.coerce.number().int().min(1).optional(),
});
const JobParams = z.strictObject({ job_id: z.string().min(1).max(100) });
const InstrumentParams = z.strictObject({ instrument: InstrumentName });
const RunParams = z.strictObject({
  instrument: InstrumentName,
  run: z.coerce.number().int().nonnegative(),
});

/**
 * The JSON API's reads under /api/v1/. `GET /api/v1/runs` returns the same objects as
 * `autoreduce runs --json`, limited to what the caller may see: without a session or token it
 * answers 401, unless the instrument asked for (or, without one, some instrument) is open to
 * anonymous reading (`web.anonymous_read`). Jobs, status and queue depths are for administrators
 * (and `read`/`admin` tokens).
 */
export function registerApiReads(app: FastifyInstance, ctx: WebContext): void {
  const { database } = ctx;
  const bad = (issues: z.ZodError) => ({ error: "bad request", detail: describeIssues(issues) });

  app.get("/api/v1/runs", async (request, reply) => {
    const query = RunsQuery.safeParse(request.query);
    if (!query.success) return reply.code(400).send(bad(query.error));
    const v = request.viewer;
    const { instrument } = query.data;
    const scope = runScope(v);
    if (instrument !== undefined) {
      // An experimenter may read their experiments' runs of any instrument: filtered below.
      if (!canReadInstrument(v, instrument) && (scope.all || scope.experiments.length === 0))
        return ctx.deny(request, reply, `runs of ${instrument.toUpperCase()}`);
    } else if (!scope.all && scope.instruments.length === 0 && scope.experiments.length === 0) {
      return ctx.deny(request, reply, "runs");
    }
    const all = query.data.all_versions === "true" || query.data.all_versions === "1";
    return listRuns(database, {
      instrument,
      allVersions: all,
      limit: query.data.limit,
      visibleTo: scope.all ? undefined : scope,
    });
  });
  app.get("/api/v1/runs/:instrument/:run", async (request, reply) => {
    const params = RunParams.safeParse(request.params);
    if (!params.success) return reply.code(400).send(bad(params.error));
    const { instrument, run } = params.data;
    const versions = await listRuns(database, { instrument, runNumber: run, allVersions: true });
    const first = versions[0];
    if (!first) {
      if (!canReadInstrument(request.viewer, instrument))
        return ctx.deny(request, reply, `run ${run} of ${instrument.toUpperCase()}`);
      return ctx.notFound(request, reply, `no run ${run} of ${instrument.toUpperCase()}`);
    }
    if (!canReadRun(request.viewer, first))
      return ctx.deny(request, reply, `run ${run} of ${first.instrument}`);
    const texts = await scriptTexts(database, instrument, run);
    return {
      versions: versions.map((v) => ({ ...v, script_text: texts[v.job_id] ?? null })),
      events: await runEvents(database, instrument, run),
    };
  });
  // Jobs of every kind alike; `next_before` (the last id, when the page is full) asks for the next page.
  app.get("/api/v1/jobs", async (request, reply) => {
    if (!canAdminister(request.viewer) && !request.viewer.readAll)
      return ctx.deny(request, reply, "the job list");
    const query = JobsQuery.safeParse(request.query);
    if (!query.success) return reply.code(400).send(bad(query.error));
    const limit = query.data.limit ?? 100;
    const jobs = await listJobs(database, { ...query.data, limit });
    return { jobs, next_before: jobs.length === limit ? (jobs.at(-1)?.id ?? null) : null };
  });
  app.get("/api/v1/jobs/:job_id", async (request, reply) => {
    if (!canAdminister(request.viewer) && !request.viewer.readAll) return ctx.deny(request, reply, "jobs");
    const params = JobParams.safeParse(request.params);
    if (!params.success) return reply.code(400).send(bad(params.error));
    const detail = await jobDetail(database, params.data.job_id);
    return detail ?? reply.code(404).send({ error: `no job ${params.data.job_id}` });
  });
  app.get("/api/v1/instruments/:instrument/variables", async (request, reply) => {
    const params = InstrumentParams.safeParse(request.params);
    if (!params.success) return reply.code(400).send(bad(params.error));
    if (!canReadInstrument(request.viewer, params.data.instrument))
      return ctx.deny(request, reply, `variables of ${params.data.instrument}`);
    return { sets: await variableSets(database, params.data.instrument) };
  });
  app.get("/api/v1/status", async (request, reply) => {
    if (!canAdminister(request.viewer) && !request.viewer.readAll)
      return ctx.deny(request, reply, "the status");
    return {
      reductions: await statusCounts(database),
      queues: await queueDepths(ctx.transport, ctx.config),
    };
  });
}
