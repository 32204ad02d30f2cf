import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { cancelRun, requestRerun, setVariables } from "../coordinator/operations.ts";
import { InfrastructureError } from "../failures/infrastructure-error.ts";
import { RefusedError } from "../failures/refused-error.ts";
import { describeIssues } from "../messages/message-error.ts";
import { parseRunRanges } from "../scripts/run-ranges.ts";
import { setPaused } from "../store/reduction-store.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { canManageInstrument, rerunCapRole, type Viewer } from "./auth/viewer.ts";
import type { WebContext } from "./web-context.ts";

const Instrument = z.string().regex(/^[A-Za-z0-9_]+$/);
const RerunBody = z.strictObject({
  runs: z.union([z.string(), z.array(z.number().int().nonnegative())]),
  variables: z.record(z.string(), z.unknown()).optional(),
  current_script: z.boolean().optional(),
  /** Start from this version's stored script and variables (default: the latest). */
  from_version: z.number().int().nonnegative().optional(),
  description: z.string().max(500).optional(),
  dry_run: z.boolean().optional(),
});
const VariablesBody = z.strictObject({
  from_run: z.number().int().nonnegative().optional(),
  experiment: z.string().min(1).optional(),
  values: z.record(z.string(), z.unknown()),
});
const InstrumentParams = z.object({ instrument: Instrument });
const RunParams = z.object({ instrument: Instrument, run: z.coerce.number().int().nonnegative() });

/** The experiments of these runs of an instrument (runs not recorded are left out). */
export async function experimentsOfRuns(
  database: SqlDatabase,
  instrument: string,
  runs: readonly number[],
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let i = 0; i < runs.length; i += 500) {
    const rows = await database.db
      .selectFrom("runs")
      .innerJoin("instruments", "instruments.id", "runs.instrument_id")
      .innerJoin("experiments", "experiments.id", "runs.experiment_id")
      .select(["runs.run_number", "experiments.reference"])
      .where("instruments.name", "=", instrument.toUpperCase())
      .where("runs.run_number", "in", runs.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(Number(r.run_number), r.reference);
  }
  return out;
}

/**
 * May `viewer` re-run (or cancel) these runs: the instrument's scientists and admins always;
 * an experimenter when every run is recorded and belongs to one of their experiments. A run not
 * recorded is refused like another experiment's, so the answer does not tell which runs exist.
 */
export async function mayChangeRuns(
  database: SqlDatabase,
  viewer: Viewer,
  instrument: string,
  runs: readonly number[],
): Promise<boolean> {
  if (canManageInstrument(viewer, instrument)) return true;
  if (viewer.kind === "anonymous" || viewer.memberOf.size === 0) return false;
  const experiments = await experimentsOfRuns(database, instrument, runs);
  return runs.every((run) => {
    const experiment = experiments.get(run);
    return experiment !== undefined && viewer.memberOf.has(experiment);
  });
}

/** Answers an operation's failure by its kind: refused input 422, unreachable database or broker 503. */
export function operationFailed(reply: FastifyReply, e: unknown): FastifyReply {
  if (e instanceof RefusedError) return reply.code(422).send({ error: e.message });
  if (e instanceof InfrastructureError)
    return reply.code(503).header("retry-after", "30").send({ error: e.message });
  throw e;
}

/**
 * The API routes that change things (re-run, set variables, cancel, pause). The caller is the
 * request's viewer (a bearer token, or a signed-in browser with its CSRF token): nobody is 401,
 * someone without the right 403. Who did it is the viewer's name, never a field of the body.
 */
export function registerChangeRoutes(app: FastifyInstance, ctx: WebContext): void {
  const deps = { config: ctx.config, database: ctx.database, transport: ctx.transport, log: ctx.log };
  const parse = <T extends z.ZodType>(schema: T, value: unknown, reply: FastifyReply): z.infer<T> | null => {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    reply.code(400).send({ error: "bad request", detail: describeIssues(result.error, value) });
    return null;
  };
  const who = (request: FastifyRequest): string => request.viewer.name ?? "anonymous";

  app.post("/api/v1/runs/:instrument/rerun", async (request, reply) => {
    if (request.viewer.kind === "anonymous") return ctx.deny(request, reply, "re-runs");
    const params = parse(InstrumentParams, request.params, reply);
    const body = params && parse(RerunBody, request.body, reply);
    if (!params || !body) return reply;
    const instrument = params.instrument.toUpperCase();
    try {
      const role = rerunCapRole(request.viewer, instrument);
      const runs =
        typeof body.runs === "string"
          ? parseRunRanges(body.runs, { maxCount: ctx.config.rerun_caps[role] })
          : body.runs;
      if (!(await mayChangeRuns(ctx.database, request.viewer, instrument, runs)))
        return ctx.deny(request, reply, `re-runs of ${instrument} runs outside your experiments`);
      const { dry_run, runs: _runs, ...rest } = body;
      return await requestRerun(
        deps,
        { ...rest, instrument, run_numbers: runs, role, started_by: who(request) },
        dry_run ?? false,
      );
    } catch (e) {
      return operationFailed(reply, e);
    }
  });
  app.post("/api/v1/instruments/:instrument/variables", async (request, reply) => {
    const params = parse(InstrumentParams, request.params, reply);
    if (!params) return reply;
    if (!canManageInstrument(request.viewer, params.instrument))
      return ctx.deny(request, reply, `changes to ${params.instrument.toUpperCase()}`);
    const body = parse(VariablesBody, request.body, reply);
    if (!body) return reply;
    try {
      const set = {
        instrument: params.instrument,
        fromRun: body.from_run,
        experiment: body.experiment,
        values: body.values,
      };
      return await setVariables(deps, { ...set, by: who(request) });
    } catch (e) {
      return operationFailed(reply, e);
    }
  });
  app.post("/api/v1/runs/:instrument/:run/cancel", async (request, reply) => {
    const params = parse(RunParams, request.params, reply);
    if (!params) return reply;
    if (!(await mayChangeRuns(ctx.database, request.viewer, params.instrument, [params.run])))
      return ctx.deny(request, reply, `run ${params.run} of ${params.instrument.toUpperCase()}`);
    try {
      return { cancelled_version: await cancelRun(deps, params.instrument, params.run, who(request)) };
    } catch (e) {
      return operationFailed(reply, e);
    }
  });
  for (const action of ["pause", "resume"] as const) {
    app.post(`/api/v1/instruments/:instrument/${action}`, async (request, reply) => {
      const params = parse(InstrumentParams, request.params, reply);
      if (!params) return reply;
      if (!canManageInstrument(request.viewer, params.instrument))
        return ctx.deny(request, reply, `changes to ${params.instrument.toUpperCase()}`);
      if (!(await setPaused(ctx.database, params.instrument, action === "pause"))) {
        return reply.code(404).send({ error: `no instrument ${params.instrument.toUpperCase()} with runs` });
      }
      return { instrument: params.instrument.toUpperCase(), paused: action === "pause" };
    });
  }
}
