import Fastify, { type FastifyInstance } from "fastify";
import { z } from "zod";
import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { describeIssues } from "../messages/message-error.ts";
import { jobDetail, listJobs } from "../store/job-views.ts";
import { listRuns, runEvents, scriptTexts, statusCounts } from "../store/run-views.ts";
import { JOB_KINDS } from "../store/schema.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { variableSets } from "../store/variable-store.ts";
import { queueDepths } from "../transport/queue-depths.ts";
import type { Transport } from "../transport/transport.ts";
import { registerChangeRoutes } from "./api-changes.ts";
import { registerBearerAuth } from "./bearer-auth.ts";

const RunsQuery = z.strictObject({
  instrument: z
    .string()
    .regex(/^[A-Za-z0-9_]+$/)
    .optional(),
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
const InstrumentParams = z.strictObject({ instrument: z.string().regex(/^[A-Za-z0-9_]+$/) });
const RunParams = z.strictObject({
  instrument: z.string().regex(/^[A-Za-z0-9_]+$/),
  run: z.coerce.number().int().nonnegative(),
});

/**
 * The JSON API under /api/v1/. `GET /api/v1/runs` returns the same objects as `autoreduce runs
 * --json`. Reads are open (it listens on 127.0.0.1 by default: do not expose it beyond the
 * machine before the web application brings read permissions); changes need a per-holder bearer
 * token (bearer-auth.ts, api-changes.ts).
 */
export async function startApiServer(deps: {
  config: Config;
  database: SqlDatabase;
  transport: Transport;
  host: string;
  port: number;
  log: Logger;
}): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  const bad = (issues: z.ZodError) => ({ error: "bad request", detail: describeIssues(issues) });

  registerBearerAuth(app, deps.database, deps.log);

  app.get("/healthz", async () => ({ ok: true }));
  app.get("/api/v1/runs", async (request, reply) => {
    const query = RunsQuery.safeParse(request.query);
    if (!query.success) return reply.code(400).send(bad(query.error));
    const all = query.data.all_versions === "true" || query.data.all_versions === "1";
    return listRuns(deps.database, {
      instrument: query.data.instrument,
      allVersions: all,
      limit: query.data.limit,
    });
  });
  app.get("/api/v1/runs/:instrument/:run", async (request, reply) => {
    const params = RunParams.safeParse(request.params);
    if (!params.success) return reply.code(400).send(bad(params.error));
    const { instrument, run } = params.data;
    const versions = await listRuns(deps.database, { instrument, runNumber: run, allVersions: true });
    if (versions.length === 0)
      return reply.code(404).send({ error: `no run ${run} of ${instrument.toUpperCase()}` });
    const texts = await scriptTexts(deps.database, instrument, run);
    return {
      versions: versions.map((v) => ({ ...v, script_text: texts[v.job_id] ?? null })),
      events: await runEvents(deps.database, instrument, run),
    };
  });
  // Jobs of every kind alike; `next_before` (the last id, when the page is full) asks for the next page.
  app.get("/api/v1/jobs", async (request, reply) => {
    const query = JobsQuery.safeParse(request.query);
    if (!query.success) return reply.code(400).send(bad(query.error));
    const limit = query.data.limit ?? 100;
    const jobs = await listJobs(deps.database, { ...query.data, limit });
    return { jobs, next_before: jobs.length === limit ? (jobs.at(-1)?.id ?? null) : null };
  });
  app.get("/api/v1/jobs/:job_id", async (request, reply) => {
    const params = JobParams.safeParse(request.params);
    if (!params.success) return reply.code(400).send(bad(params.error));
    const detail = await jobDetail(deps.database, params.data.job_id);
    return detail ?? reply.code(404).send({ error: `no job ${params.data.job_id}` });
  });
  app.get("/api/v1/instruments/:instrument/variables", async (request, reply) => {
    const params = InstrumentParams.safeParse(request.params);
    if (!params.success) return reply.code(400).send(bad(params.error));
    return { sets: await variableSets(deps.database, params.data.instrument) };
  });
  app.get("/api/v1/status", async () => ({
    reductions: await statusCounts(deps.database),
    queues: await queueDepths(deps.transport, deps.config),
  }));
  registerChangeRoutes(app, deps);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no such route: ${request.method} ${request.url}` }),
  );

  const address = await app.listen({ host: deps.host, port: deps.port });
  return { app, url: address };
}
