import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { LocalCatalog } from "../../catalog/catalog.ts";
import { CatalogFileError, parseCatalogJson } from "../../catalog/catalog-file.ts";
import { experimentProblem } from "../../messages/path-component.ts";
import { canAdminister, canReadExperiment } from "../auth/viewer.ts";
import type { WebContext } from "../web-context.ts";
import { canSeeMembers, instrumentsOfExperiment } from "./experiment-page.tsx";

const ImportQuery = z.strictObject({ replace: z.enum(["true", "false", "1", "0"]).optional() });

/**
 * The catalog's API: `POST /api/v1/catalog/import` (administrators; the body is the JSON export,
 * `?replace=true` removes imported members the export no longer lists) and
 * `GET /api/v1/experiments/<EXP>/members` (whoever may see the experiment's member list).
 */
export function registerCatalogApi(app: FastifyInstance, ctx: WebContext): void {
  const catalog = new LocalCatalog(ctx.database);

  app.post("/api/v1/catalog/import", async (request, reply) => {
    if (!canAdminister(request.viewer)) return ctx.deny(request, reply, "importing the experiment catalog");
    const query = ImportQuery.safeParse(request.query);
    if (!query.success)
      return reply.code(400).send({ error: "bad request: the only option is ?replace=true" });
    try {
      const entries = parseCatalogJson(request.body);
      const replace = query.data.replace === "true" || query.data.replace === "1";
      const summary = await catalog.import(entries, { replace });
      ctx.log.info(
        { by: request.viewer.name, ...summary, withoutAccount: summary.withoutAccount.length },
        "catalog imported",
      );
      return summary;
    } catch (e) {
      if (e instanceof CatalogFileError)
        return reply
          .code(422)
          .send({ error: "nothing imported: the export has problems", problems: e.problems });
      throw e;
    }
  });

  app.get("/api/v1/experiments/:experiment/members", async (request, reply) => {
    const experiment = (request.params as { experiment: string }).experiment;
    const problem = experimentProblem(experiment);
    if (problem) return reply.code(400).send({ error: `experiment ${problem}` });
    const v = request.viewer;
    const instruments = await instrumentsOfExperiment(ctx.database, experiment);
    if (!canReadExperiment(v, experiment, instruments) || !canSeeMembers(v, experiment, instruments))
      return ctx.deny(request, reply, `the members of ${experiment}`);
    const [members, description] = await Promise.all([
      catalog.memberships(experiment),
      catalog.describe(experiment),
    ]);
    return {
      experiment,
      title: description?.title ?? null,
      metadata: description?.metadata ?? {},
      members: members.map((m) => ({
        username: m.username,
        source: m.source,
        added_at: new Date(m.added_at).toISOString(),
      })),
    };
  });
}
