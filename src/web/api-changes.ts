import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { cancelRun, type OperationDeps, requestRerun, setVariables } from "../coordinator/operations.ts";
import { InfrastructureError } from "../failures/infrastructure-error.ts";
import { RefusedError } from "../failures/refused-error.ts";
import { describeIssues } from "../messages/message-error.ts";
import { parseRunRanges } from "../scripts/run-ranges.ts";
import { setPaused } from "../store/reduction-store.ts";
import type { TokenHolder } from "../store/token-store.ts";
import { permission, rerunCapRole } from "./api-permission.ts";

const Instrument = z.string().regex(/^[A-Za-z0-9_]+$/);
const RerunBody = z.strictObject({
  runs: z.union([z.string(), z.array(z.number().int().nonnegative())]),
  variables: z.record(z.string(), z.unknown()).optional(),
  current_script: z.boolean().optional(),
  description: z.string().max(500).optional(),
  dry_run: z.boolean().optional(),
});
const VariablesBody = z.strictObject({
  from_run: z.number().int().nonnegative().optional(),
  experiment: z.string().min(1).optional(),
  values: z.record(z.string(), z.unknown()),
});
const InstrumentParams = z.object({ instrument: Instrument });

/**
 * The API routes that change things (re-run, set variables, cancel, pause). Each needs an
 * `Authorization: Bearer` token (see bearer-auth.ts) whose role covers the instrument
 * (api-permission.ts): none or an invalid one is 401, one without the right 403. Who did it is
 * the token's name, never a field of the body.
 */
export function registerChangeRoutes(app: FastifyInstance, deps: OperationDeps): void {
  const guard = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = InstrumentParams.safeParse(request.params);
    // Bad parameters from a caller with a token: the route's own parsing answers 400.
    const instrument = params.success ? params.data.instrument : "";
    const verdict = permission(request.holder, { instrument });
    if (verdict === "forbidden" && !params.success) return;
    if (verdict === "unauthenticated")
      return reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="autoreduce"')
        .send({ error: "this needs an API token (Authorization: Bearer …); see `autoreduce token create`" });
    if (verdict === "forbidden")
      return reply.code(403).send({
        error: `token "${request.holder?.name}" (${request.holder?.role}) may not change ${instrument.toUpperCase()}`,
      });
  };
  const who = (request: FastifyRequest): TokenHolder => {
    if (!request.holder) throw new Error("a change route ran without its guard");
    return request.holder;
  };
  // By the error's kind: refused input is the caller's to fix (422); an unreachable database or
  // broker is worth trying again later (503); anything else is a defect (500).
  const fail = (reply: FastifyReply, e: unknown) => {
    if (e instanceof RefusedError) return reply.code(422).send({ error: e.message });
    if (e instanceof InfrastructureError)
      return reply.code(503).header("retry-after", "30").send({ error: e.message });
    throw e;
  };
  const parse = <T extends z.ZodType>(schema: T, value: unknown, reply: FastifyReply): z.infer<T> | null => {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    reply.code(400).send({ error: "bad request", detail: describeIssues(result.error, value) });
    return null;
  };

  app.post("/api/v1/runs/:instrument/rerun", { preHandler: guard }, async (request, reply) => {
    const params = parse(z.object({ instrument: Instrument }), request.params, reply);
    const body = params && parse(RerunBody, request.body, reply);
    if (!params || !body) return reply;
    try {
      const holder = who(request);
      const role = rerunCapRole(holder);
      const runs =
        typeof body.runs === "string"
          ? parseRunRanges(body.runs, { maxCount: deps.config.rerun_caps[role] })
          : body.runs;
      const { dry_run, runs: _runs, ...rest } = body;
      return await requestRerun(
        deps,
        {
          ...rest,
          instrument: params.instrument.toUpperCase(),
          run_numbers: runs,
          role,
          started_by: holder.name,
        },
        dry_run ?? false,
      );
    } catch (e) {
      return fail(reply, e);
    }
  });
  app.post("/api/v1/instruments/:instrument/variables", { preHandler: guard }, async (request, reply) => {
    const params = parse(z.object({ instrument: Instrument }), request.params, reply);
    const body = params && parse(VariablesBody, request.body, reply);
    if (!params || !body) return reply;
    try {
      const set = {
        instrument: params.instrument,
        fromRun: body.from_run,
        experiment: body.experiment,
        values: body.values,
      };
      return await setVariables(deps, { ...set, by: who(request).name });
    } catch (e) {
      return fail(reply, e);
    }
  });
  app.post("/api/v1/runs/:instrument/:run/cancel", { preHandler: guard }, async (request, reply) => {
    const params = parse(
      z.object({ instrument: Instrument, run: z.coerce.number().int().nonnegative() }),
      request.params,
      reply,
    );
    if (!params) return reply;
    try {
      const by = who(request).name;
      return { cancelled_version: await cancelRun(deps, params.instrument, params.run, by) };
    } catch (e) {
      return fail(reply, e);
    }
  });
  for (const action of ["pause", "resume"] as const) {
    app.post(`/api/v1/instruments/:instrument/${action}`, { preHandler: guard }, async (request, reply) => {
      const params = parse(z.object({ instrument: Instrument }), request.params, reply);
      if (!params) return reply;
      if (!(await setPaused(deps.database, params.instrument, action === "pause"))) {
        return reply.code(404).send({ error: `no instrument ${params.instrument.toUpperCase()} with runs` });
      }
      return { instrument: params.instrument.toUpperCase(), paused: action === "pause" };
    });
  }
}
