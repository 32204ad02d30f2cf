import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { InfrastructureError } from "../../failures/infrastructure-error.ts";
import {
  DeadLetterRefused,
  deadLetterQueue,
  deadLetterQueues,
  describeDeadLetter,
  findDeadLetter,
  planReinjection,
  reinject,
  workQueues,
} from "../../transport/dead-letters.ts";
import type { QueuedMessage } from "../../transport/transport.ts";
import { formatBytes, formatTime } from "../views/format.ts";
import { CsrfField, type PageFrame } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";
import { AdminPage, doneNotice, doneUrl, firstLine, requireAdmin } from "./admin-layout.tsx";

/** Messages listed per queue (the CLI's `dlq list` default too). */
const LISTED = 50;

const MessageRef = z.object({
  queue: z.string().min(1).max(300),
  id: z.string().min(1).max(500),
});
const ReinjectBody = MessageRef.extend({ to: z.string().max(300).optional() });
const DiscardBody = MessageRef.extend({ confirm: z.literal("yes").optional() });

/** The inspect page of a message. */
export function messageHref(
  message: Pick<QueuedMessage, "destination" | "id">,
  path = "/admin/messages/message",
) {
  return `${path}?${new URLSearchParams({ queue: message.destination, id: message.id }).toString()}`;
}

const when = (m: QueuedMessage) => (m.enqueuedAt === null ? "—" : formatTime(m.enqueuedAt));

function QueueListing({ queue, messages }: { queue: string; messages: QueuedMessage[] }) {
  return (
    <section class="card">
      <h3 class="mono">{queue}</h3>
      <table>
        <caption class="muted">
          {messages.length} message{messages.length === 1 ? "" : "s"}
          {messages.length >= LISTED
            ? ` (the first ${LISTED}; \`autoreduce dlq list --limit N\` for more)`
            : ""}
        </caption>
        <thead>
          <tr>
            <th scope="col">Message</th>
            <th scope="col">Arrived</th>
            <th scope="col">From</th>
            <th scope="col">Why it is here</th>
            <th scope="col" class="num">
              Size
            </th>
            <th scope="col">Body (first line)</th>
          </tr>
        </thead>
        <tbody>
          {messages.map((m) => {
            const { reason, from } = describeDeadLetter(m);
            return (
              <tr key={m.id}>
                <td>
                  <a href={messageHref(m)} class="mono">
                    {firstLine(m.id, 40)}
                  </a>
                </td>
                <td>{when(m)}</td>
                <td class="mono">{from}</td>
                <td class="reason">{firstLine(reason, 160)}</td>
                <td class="num">{formatBytes(Buffer.byteLength(m.body))}</td>
                <td class="mono">{firstLine(m.body, 60)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** The body as a person reads it best: JSON indented, anything else as it is. */
function readableBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function MessageDetail({
  frame,
  message,
  targets,
  errorQueue,
}: {
  frame: PageFrame;
  message: QueuedMessage;
  targets: string[];
  errorQueue: string;
}) {
  const { reason, from } = describeDeadLetter(message);
  const headers = Object.entries(message.headers);
  const readable = readableBody(message.body);
  let planned: string | null = null;
  try {
    planned = planReinjection(message, errorQueue, targets).destination;
  } catch (e) {
    if (!(e instanceof DeadLetterRefused)) throw e;
  }
  return (
    <>
      <dl class="facts card">
        <dt>Queue</dt>
        <dd class="mono">{message.destination}</dd>
        <dt>Message id</dt>
        <dd class="mono">{message.id}</dd>
        <dt>Arrived</dt>
        <dd>{when(message)}</dd>
        <dt>Came from</dt>
        <dd class="mono">{from}</dd>
        <dt>Why it is here</dt>
        <dd>{reason}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(Buffer.byteLength(message.body))}</dd>
      </dl>
      <h3>Headers</h3>
      {headers.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <table class="rowheads">
          <thead>
            <tr>
              <th scope="col">Header</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {headers.map(([name, value]) => (
              <tr key={name}>
                <th scope="row" class="mono">
                  {name}
                </th>
                <td class="mono">{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Body</h3>
      <pre class="light">{readable}</pre>
      {readable !== message.body ? (
        <details>
          <summary>The body exactly as it was sent</summary>
          <pre class="light">{message.body}</pre>
        </details>
      ) : null}
      <h3>What to do with it</h3>
      <p class="help">
        Fix the cause first (the reason above says what went wrong), or the message comes back. Re-inject
        sends it to its queue again and only then removes it here; discard removes it for good.
      </p>
      <div class="grid">
        <form method="post" action="/admin/messages/reinject" class="stack card">
          <CsrfField frame={frame} />
          <input type="hidden" name="queue" value={message.destination} />
          <input type="hidden" name="id" value={message.id} />
          <label for="reinject-to">Send to</label>
          <select id="reinject-to" name="to">
            <option value="">{planned ? `where it came from (${planned})` : "choose a queue"}</option>
            {targets.map((q) => (
              <option key={q} value={q}>
                {q}
              </option>
            ))}
          </select>
          <button type="submit">Re-inject</button>
        </form>
        <div class="card">
          <p>Removing a message cannot be undone.</p>
          <a class="button secondary" href={messageHref(message, "/admin/messages/discard")}>
            Discard…
          </a>
        </div>
      </div>
    </>
  );
}

/**
 * `/admin/messages`: dead letters (`DLQ.<queue>`) and refused messages (the error queue), with the
 * same logic as `autoreduce dlq`: list, inspect, re-inject, discard (after a confirmation). Each
 * action is logged with who did it.
 */
export function registerAdminMessages(app: FastifyInstance, ctx: WebContext): void {
  const { config } = ctx;
  const errorQueue = config.queues.postprocess_error;

  /** The message a request names (in a dead-letter or the error queue only), or the page saying why not. */
  const located = async (
    request: FastifyRequest,
    reply: FastifyReply,
    source: unknown,
  ): Promise<QueuedMessage | null> => {
    const ref = MessageRef.safeParse(source);
    const problem = async (status: number, text: string) => {
      await ctx.page(
        reply,
        <AdminPage frame={await ctx.frame(request)} path="/admin/messages" title="Dead letters" error={text}>
          <p>
            <a href="/admin/messages">Back to the dead letters</a>
          </p>
        </AdminPage>,
        status,
      );
      return null;
    };
    if (!ref.success) return problem(400, "Name a message: its queue and id (follow a link from the list).");
    let queue: string;
    try {
      queue = deadLetterQueue(config, ref.data.queue);
    } catch (e) {
      if (e instanceof DeadLetterRefused) return problem(400, e.message);
      throw e;
    }
    const message = await findDeadLetter(ctx.transport, [queue], ref.data.id);
    if (!message)
      return problem(
        404,
        `There is no message ${ref.data.id} in ${queue} now: someone may have re-injected or discarded it already.`,
      );
    return message;
  };

  app.get("/admin/messages", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const queues = deadLetterQueues(config);
    // At once: a look at a RabbitMQ queue waits 1.5 s for quiet, and there is one per work queue.
    const looks = await Promise.all(
      queues.map((q) =>
        ctx.transport.browse(q, LISTED).catch((e: unknown) => {
          if (e instanceof InfrastructureError) return e;
          throw e;
        }),
      ),
    );
    const listed = queues.map((queue, i) => ({ queue, look: looks[i] ?? [] }));
    const failed = listed.filter((l) => l.look instanceof Error);
    const full = listed.filter(
      (l): l is { queue: string; look: QueuedMessage[] } => Array.isArray(l.look) && l.look.length > 0,
    );
    return ctx.page(
      reply,
      <AdminPage
        frame={await ctx.frame(request)}
        path="/admin/messages"
        title="Dead letters and refused messages"
        notice={doneNotice(request)}
      >
        <p class="help">
          <code>DLQ.&lt;queue&gt;</code> holds messages whose handling kept failing, or that were refused as
          bad input; <code>{errorQueue}</code> holds messages refused as invalid, each with its original. Open
          one to see why it is there, then re-inject or discard it. The CLI has the same:{" "}
          <code>autoreduce dlq</code>.
        </p>
        {failed.map((l) => (
          <p key={l.queue} class="error">
            Could not look in {l.queue}: {(l.look as Error).message}
          </p>
        ))}
        {full.length === 0 ? (
          <p class="muted">
            No dead letters and no refused messages (looked in {queues.length} queues). Nothing to do.
          </p>
        ) : (
          full.map((l) => <QueueListing key={l.queue} queue={l.queue} messages={l.look} />)
        )}
      </AdminPage>,
    );
  });

  app.get("/admin/messages/message", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const message = await located(request, reply, request.query);
    if (!message) return reply;
    const frame = await ctx.frame(request);
    return ctx.page(
      reply,
      <AdminPage frame={frame} path="/admin/messages" title="A dead letter">
        <p>
          <a href="/admin/messages">← All dead letters</a>
        </p>
        <MessageDetail frame={frame} message={message} targets={workQueues(config)} errorQueue={errorQueue} />
      </AdminPage>,
    );
  });

  app.post("/admin/messages/reinject", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const body = ReinjectBody.safeParse(request.body);
    const message = await located(request, reply, body.success ? body.data : undefined);
    if (!message || !body.success) return reply;
    let plan: ReturnType<typeof planReinjection>;
    try {
      plan = planReinjection(message, errorQueue, workQueues(config), body.data.to || undefined);
    } catch (e) {
      if (!(e instanceof DeadLetterRefused)) throw e;
      const frame = await ctx.frame(request);
      return ctx.page(
        reply,
        <AdminPage
          frame={frame}
          path="/admin/messages"
          title="A dead letter"
          error={`Not re-injected: ${e.message}`}
        >
          <MessageDetail
            frame={frame}
            message={message}
            targets={workQueues(config)}
            errorQueue={errorQueue}
          />
        </AdminPage>,
        422,
      );
    }
    const { sentTo, removed } = await reinject(ctx.transport, message, plan);
    ctx.log.info(
      { by: request.viewer.name, queue: message.destination, id: message.id, sent_to: sentTo, removed },
      "web: dead letter re-injected",
    );
    return reply.redirect(doneUrl("/admin/messages", removed ? "reinjected" : "reinjected-gone"), 303);
  });

  app.get("/admin/messages/discard", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const message = await located(request, reply, request.query);
    if (!message) return reply;
    return confirmDiscard(ctx, request, reply, message);
  });

  app.post("/admin/messages/discard", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const body = DiscardBody.safeParse(request.body);
    const message = await located(request, reply, body.success ? body.data : undefined);
    if (!message || !body.success) return reply;
    if (body.data.confirm !== "yes") return confirmDiscard(ctx, request, reply, message);
    const taken = await ctx.transport.take(message.destination, message.id);
    ctx.log.info(
      { by: request.viewer.name, queue: message.destination, id: message.id, removed: taken !== null },
      "web: dead letter discarded",
    );
    return reply.redirect(doneUrl("/admin/messages", taken ? "discarded" : "discard-gone"), 303);
  });
}

/** The confirmation step of a discard: what would be removed, and a button that really does it. */
async function confirmDiscard(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  message: QueuedMessage,
) {
  const frame = await ctx.frame(request);
  const { reason } = describeDeadLetter(message);
  return ctx.page(
    reply,
    <AdminPage frame={frame} path="/admin/messages" title="Discard this message?">
      <p>
        This removes message <code>{message.id}</code> from <code>{message.destination}</code> for good.
        Nothing will ever handle it. Why it is there: {reason}
      </p>
      <pre class="light">{firstLine(message.body, 400)}</pre>
      <form method="post" action="/admin/messages/discard" class="inline">
        <CsrfField frame={frame} />
        <input type="hidden" name="queue" value={message.destination} />
        <input type="hidden" name="id" value={message.id} />
        <input type="hidden" name="confirm" value="yes" />
        <button type="submit" class="danger">
          Discard it for good
        </button>
      </form>{" "}
      <a class="button secondary" href={messageHref(message)}>
        Keep it
      </a>
    </AdminPage>,
  );
}
