import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import {
  cancelRun,
  type OperationDeps,
  OperationRefused,
  requestRerun,
  setVariables,
} from "../coordinator/operations.ts";
import { describeIssues } from "../messages/message-error.ts";
import { parseRunRanges, RunRangeError } from "../scripts/run-ranges.ts";
import { setPaused } from "../store/reduction-store.ts";

const Instrument = z.string().regex(/^[A-Za-z0-9_]+$/);
const RerunBody = z.strictObject({
  runs: z.union([z.string(), z.array(z.number().int().nonnegative())]),
  variables: z.record(z.string(), z.unknown()).optional(),
  current_script: z.boolean().optional(),
  description: z.string().max(500).optional(),
  dry_run: z.boolean().optional(),
  role: z.enum(["user", "staff", "admin"]).optional(),
  started_by: z.string().max(100).optional(),
});
const VariablesBody = z.strictObject({
  from_run: z.number().int().nonnegative().optional(),
  experiment: z.string().min(1).optional(),
  values: z.record(z.string(), z.unknown()),
  by: z.string().max(100).optional(),
});

/**
 * The API routes that change things (re-run, set variables, cancel, pause). Until the web
 * application brings login and permissions, they need the server's shared token
 * (`AUTOREDUCE_API_TOKEN`, as `Authorization: Bearer …`); without one configured they are off.
 */
export function registerChangeRoutes(
  app: FastifyInstance,
  deps: OperationDeps,
  token: string | undefined,
): void {
  const guard = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!token) {
      return reply.code(403).send({
        error:
          "changes through the API are disabled: set AUTOREDUCE_API_TOKEN for the server (login comes with the web application)",
      });
    }
    const given = Buffer.from((request.headers.authorization ?? "").replace(/^Bearer /, ""));
    const wanted = Buffer.from(token);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      return reply.code(401).send({ error: "missing or wrong API token" });
    }
  };
  const fail = (reply: FastifyReply, e: unknown) => {
    if (e instanceof OperationRefused || e instanceof RunRangeError)
      return reply.code(422).send({ error: e.message });
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
      const role = body.role ?? "staff";
      const runs =
        typeof body.runs === "string"
          ? parseRunRanges(body.runs, { maxCount: deps.config.rerun_caps[role] })
          : body.runs;
      const { dry_run, runs: _runs, ...rest } = body;
      return await requestRerun(
        deps,
        { ...rest, instrument: params.instrument.toUpperCase(), run_numbers: runs, role },
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
      return await setVariables(deps, { ...set, by: body.by ?? "api" });
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
      return { cancelled_version: await cancelRun(deps, params.instrument, params.run, "api") };
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
