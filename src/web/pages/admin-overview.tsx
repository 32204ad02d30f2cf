import type { FastifyInstance } from "fastify";
import { Fragment } from "preact";
import { activeJobCounts, countFailures, siteSetting } from "../../store/admin-store.ts";
import type { DaemonView } from "../../store/heartbeat-store.ts";
import { queueDepths } from "../../transport/queue-depths.ts";
import { formatAge } from "../views/format.ts";
import { sendFragment } from "../views/render.ts";
import type { WebContext } from "../web-context.ts";
import { isSilent, readDaemons } from "./admin-daemons.tsx";
import { AdminPage, requireAdmin } from "./admin-layout.tsx";
import { isDeadLetterQueue } from "./admin-queues.tsx";

/** Failures are counted up to this many ("1000+"): the count is a signal, not an audit. */
const FAILURE_COUNT_CAP = 1000;

interface Summary {
  daemons: DaemonView[];
  jobs: Awaited<ReturnType<typeof activeJobCounts>>;
  failures: number;
  depths: Record<string, number | null>;
  banner: string | null;
}

async function summary(ctx: WebContext): Promise<Summary> {
  const [{ daemons }, jobs, failures, depths, banner] = await Promise.all([
    readDaemons(ctx, false),
    activeJobCounts(ctx.database),
    countFailures(ctx.database, FAILURE_COUNT_CAP),
    queueDepths(ctx.transport, ctx.config),
    siteSetting(ctx.database, "banner"),
  ]);
  return { daemons, jobs, failures, depths, banner: banner?.value ?? null };
}

/** The overview's cards: what needs attention first. htmx re-reads them every 15 s. */
function Overview({ s, errorQueue }: { s: Summary; errorQueue: string }) {
  const silent = s.daemons.filter(isSilent);
  const byState = (state: DaemonView["state"]) => s.daemons.filter((d) => d.state === state).length;
  const deadLetters = Object.entries(s.depths).filter(([q]) => isDeadLetterQueue(q, errorQueue));
  const waitingDead = deadLetters.reduce((n, [, d]) => n + (d ?? 0), 0);
  const uncounted = deadLetters.filter(([, d]) => d === null).length;
  const work = Object.entries(s.depths).filter(([q]) => !isDeadLetterQueue(q, errorQueue));
  const failures = s.failures > FAILURE_COUNT_CAP ? `${FAILURE_COUNT_CAP}+` : String(s.failures);
  return (
    <div id="overview" class="grid" hx-get="/admin/overview" hx-trigger="every 15s" hx-swap="outerHTML">
      <section class={`card${silent.length ? " attention" : ""}`}>
        <h3>
          <a href="/admin/daemons">Daemons</a>
        </h3>
        <p>
          {byState("ok")} ok, {silent.length} silent, {byState("stopped")} stopped
        </p>
        {silent.length ? (
          <ul class="plain">
            {silent.map((d) => (
              <li key={d.daemon} class="field-error">
                {d.kind ?? d.role} on {d.src_name} (pid {d.pid}): last heard{" "}
                {formatAge(Date.parse(d.last_seen_at))}
              </li>
            ))}
          </ul>
        ) : s.daemons.length === 0 ? (
          <p class="field-error">No daemon heard from in a day: is the coordinator running?</p>
        ) : null}
      </section>
      <section class="card">
        <h3>
          <a href="/admin/jobs">Jobs</a>
        </h3>
        <dl class="facts">
          <dt>Running</dt>
          <dd>{s.jobs.running}</dd>
          <dt>Queued</dt>
          <dd>{s.jobs.queued}</dd>
          <dt>Waiting to retry</dt>
          <dd>{s.jobs.retrying}</dd>
          <dt>Failures to look at</dt>
          <dd>
            <a href="/admin/jobs#failures">{failures}</a>
          </dd>
        </dl>
      </section>
      <section class="card">
        <h3>
          <a href="/admin/queues">Queues</a>
        </h3>
        <dl class="facts">
          {work.map(([q, d]) => (
            <Fragment key={q}>
              <dt class="mono">{q.replace(/^\/queue\//, "")}</dt>
              <dd>{d ?? "?"}</dd>
            </Fragment>
          ))}
        </dl>
      </section>
      <section class={`card${waitingDead ? " attention" : ""}`}>
        <h3>
          <a href="/admin/messages">Dead letters</a>
        </h3>
        <p>
          {waitingDead === 0 && uncounted === 0
            ? "None."
            : `${waitingDead} waiting${uncounted ? `; ${uncounted} queue(s) the broker cannot count` : ""}.`}
        </p>
      </section>
      <section class="card">
        <h3>
          <a href="/admin/site">Site banner</a>
        </h3>
        <p>{s.banner ?? <span class="muted">none</span>}</p>
      </section>
    </div>
  );
}

/** `/admin`: the overview: daemons, jobs, queues, dead letters and the banner at a glance. */
export function registerAdminOverview(app: FastifyInstance, ctx: WebContext): void {
  const errorQueue = ctx.config.queues.postprocess_error;
  app.get("/admin", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    return ctx.page(
      reply,
      <AdminPage frame={await ctx.frame(request)} path="/admin" title="Overview">
        <p class="help">
          What needs attention is marked red. At night: a silent daemon first (restart it; its jobs go back to
          the queue by themselves), then a growing queue, then dead letters. The operations guide, “The admin
          page”, says more.
        </p>
        <Overview s={await summary(ctx)} errorQueue={errorQueue} />
      </AdminPage>,
    );
  });
  app.get("/admin/overview", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    return sendFragment(reply, <Overview s={await summary(ctx)} errorQueue={errorQueue} />);
  });
}
