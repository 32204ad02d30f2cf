import type { FastifyInstance } from "fastify";
import { normalizeDestination, parseDestination } from "../../messages/destinations.ts";
import { queueDepthHistory } from "../../store/admin-store.ts";
import { queueDepths } from "../../transport/queue-depths.ts";
import type { Figure } from "../views/figure.ts";
import { FigureSvg } from "../views/figure-svg.tsx";
import type { WebContext } from "../web-context.ts";
import { AdminPage, requireAdmin } from "./admin-layout.tsx";

const DAY_MS = 24 * 3_600_000;

type History = Map<string, Array<{ at: number; depth: number }>>;

/** A dead-letter queue or the error queue (listed only when something is in it). */
export function isDeadLetterQueue(queue: string, errorQueue: string): boolean {
  return parseDestination(queue).name.startsWith("DLQ.") || queue === normalizeDestination(errorQueue);
}

/** The depth of a queue over the last day as a figure (x: hours before now). */
export function depthFigure(
  queue: string,
  samples: Array<{ at: number; depth: number }>,
  now: number,
): Figure {
  return {
    data: [
      {
        type: "scatter",
        mode: "lines",
        name: queue,
        x: samples.map((s) => Number(((s.at - now) / 3_600_000).toFixed(3))),
        y: samples.map((s) => s.depth),
      },
    ],
    layout: {
      title: parseDestination(queue).name,
      xaxis: { title: "hours before now" },
      yaxis: { title: "messages waiting" },
    },
  };
}

/** Messages waiting per queue now, as a table; `?` where the broker cannot count. */
export function DepthTable({
  depths,
  history,
  errorQueue,
}: {
  depths: Record<string, number | null>;
  history: History;
  errorQueue: string;
}) {
  const rows = Object.entries(depths).filter(
    ([queue, depth]) => !isDeadLetterQueue(queue, errorQueue) || depth !== 0,
  );
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Queue</th>
          <th scope="col" class="num">
            Waiting now
          </th>
          <th scope="col" class="num">
            Most in 24 h
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([queue, depth]) => {
          const most = Math.max(depth ?? 0, ...(history.get(queue) ?? []).map((s) => s.depth));
          return (
            <tr key={queue} class={isDeadLetterQueue(queue, errorQueue) && depth ? "flagged" : undefined}>
              <td class="mono">{queue}</td>
              <td class="num">{depth ?? "?"}</td>
              <td class="num">{history.has(queue) || depth !== null ? most : "—"}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** `/admin/queues`: messages waiting now, and over the last 24 hours (sampled every minute). */
export function registerAdminQueues(app: FastifyInstance, ctx: WebContext): void {
  app.get("/admin/queues", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const now = Date.now();
    const errorQueue = ctx.config.queues.postprocess_error;
    const [depths, history] = await Promise.all([
      queueDepths(ctx.transport, ctx.config),
      queueDepthHistory(ctx.database, now - DAY_MS),
    ]);
    const queues = Object.keys(depths);
    // A chart of a queue that held nothing all day says nothing: those are named in one line instead.
    const charted = queues.filter((q) => (history.get(q) ?? []).some((sample) => sample.depth > 0));
    const quiet = queues.filter((q) => history.has(q) && !charted.includes(q));
    const quietWork = quiet.filter((q) => !isDeadLetterQueue(q, errorQueue));
    const quietDead = quiet.length - quietWork.length;
    const unsampled = queues.filter((q) => !history.has(q) && !isDeadLetterQueue(q, errorQueue));
    return ctx.page(
      reply,
      <AdminPage frame={await ctx.frame(request)} path="/admin/queues" title="Queues">
        <p class="help">
          A work queue that keeps growing means its consumer is missing or too slow: the coordinator for{" "}
          <code>POSTPROCESS.DATA_READY</code> and the reports, the workers for{" "}
          <code>REDUCTION.DATA_READY</code>. A <code>?</code> means the broker cannot count that queue
          (RabbitMQ over STOMP).
        </p>
        <h3>Now</h3>
        <DepthTable depths={depths} history={history} errorQueue={errorQueue} />
        <p class="muted">
          Empty dead-letter queues are not listed. <a href="/admin/messages">Look at the dead letters</a>
        </p>
        <h3>The last 24 hours</h3>
        <p class="help">A chart for each queue that held messages at some sample of the last 24 hours.</p>
        {charted.length === 0 ? null : (
          <div class="grid charts">
            {charted.map((queue) => (
              <figure key={queue} class="card plot">
                <FigureSvg
                  figure={depthFigure(queue, history.get(queue) ?? [], now)}
                  width={520}
                  height={220}
                  label={`messages waiting in ${queue} over the last 24 hours`}
                />
              </figure>
            ))}
          </div>
        )}
        {quiet.length ? (
          <p>
            Empty at every sample of the last 24 hours:{" "}
            {quietWork.map((q, i) => (
              <span key={q}>
                {i ? ", " : ""}
                <code>{parseDestination(q).name}</code>
              </span>
            ))}
            {quietDead
              ? `${quietWork.length ? " and " : ""}${quietDead} dead-letter queue${quietDead === 1 ? "" : "s"}`
              : ""}
            .
          </p>
        ) : null}
        {unsampled.length ? (
          <p class="muted">
            No samples yet of{" "}
            {unsampled.map((q, i) => (
              <span key={q}>
                {i ? ", " : ""}
                <code>{parseDestination(q).name}</code>
              </span>
            ))}
            : each web process samples the queues every minute; a queue the broker cannot count has none.
          </p>
        ) : null}
      </AdminPage>,
    );
  });
}
