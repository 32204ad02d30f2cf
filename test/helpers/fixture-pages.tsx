import { listRuns } from "../../src/store/run-views.ts";
import { canReadRun } from "../../src/web/auth/viewer.ts";
import { Layout, StatusBadge } from "../../src/web/views/layout.tsx";
import type { WebModule } from "../../src/web/web-context.ts";

/** Where the stand-in run page answers: `${FIXTURE_RUN_PAGE}/MARI/1`. */
export const FIXTURE_RUN_PAGE = "/test-fixture/runs";

/**
 * A stand-in for the run page while it is being built: the smallest page made of the real parts
 * (permission check with `canReadRun`, `ctx.deny` → the 401 sign-in page or the 403 page,
 * `ctx.notFound`, `Layout` with `live=` so app.js follows /api/v1/events, a `data-run` row with
 * its `StatusBadge`). Registered only by the tests that pass it to openWebStack's `modules`.
 * Once `/runs/INST/RUN` exists, the browser tests use that instead and this file goes.
 */
export const fixtureRunPage: WebModule = (app, ctx) => {
  app.get(`${FIXTURE_RUN_PAGE}/:instrument/:run`, async (request, reply) => {
    const { instrument, run } = request.params as { instrument: string; run: string };
    const runNumber = Number(run);
    const versions = await listRuns(ctx.database, { instrument, runNumber, allVersions: true });
    const latest = versions.reduce<(typeof versions)[number] | undefined>(
      (a, b) => (a && a.version > b.version ? a : b),
      undefined,
    );
    if (!latest) return ctx.notFound(request, reply, `no run ${run} of ${instrument}`);
    if (!canReadRun(request.viewer, latest)) return ctx.deny(request, reply, `run ${run} of ${instrument}`);
    const frame = await ctx.frame(request);
    const live = `/api/v1/events?instrument=${encodeURIComponent(latest.instrument)}&run=${runNumber}`;
    return ctx.page(
      reply,
      <Layout frame={frame} title={`${latest.instrument} ${runNumber}`} live={live}>
        <h1>{`${latest.instrument} run ${runNumber}`}</h1>
        <p data-run={`${latest.instrument}/${runNumber}`} data-version={String(latest.version)}>
          Status: <StatusBadge status={latest.status} />
        </p>
      </Layout>,
    );
  });
};
