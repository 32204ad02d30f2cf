import type { FastifyInstance } from "fastify";
import { runsOfJobIds } from "../../store/admin-store.ts";
import { type DaemonView, listDaemons } from "../../store/heartbeat-store.ts";
import { formatAge, formatTime } from "../views/format.ts";
import { sendFragment } from "../views/render.ts";
import type { WebContext } from "../web-context.ts";
import { runHref } from "./admin-jobs.tsx";
import { AdminPage, requireAdmin } from "./admin-layout.tsx";

type JobRuns = Awaited<ReturnType<typeof runsOfJobIds>>;

/** A daemon that should be beating and is not: it is flagged (stopped ones said goodbye). */
export const isSilent = (d: DaemonView) => d.state === "stale" || d.state === "dead";

/** Every daemon heard from (within a day, or all), with what its running jobs are. */
export async function readDaemons(
  ctx: WebContext,
  all: boolean,
): Promise<{ daemons: DaemonView[]; runs: JobRuns }> {
  const { heartbeat } = ctx.config;
  const daemons = await listDaemons(ctx.database, Date.now(), {
    staleSeconds: heartbeat.stale_seconds,
    deadSeconds: heartbeat.dead_seconds,
    foreignIntervalSeconds: heartbeat.foreign_interval_seconds,
    ...(all ? { hideAfterSeconds: null } : {}),
  });
  const runs = await runsOfJobIds(
    ctx.database,
    daemons.flatMap((d) => d.running ?? []),
  );
  return { daemons, runs };
}

const STATE_WORDS: Record<DaemonView["state"], string> = {
  ok: "ok",
  stale: "silent",
  dead: "dead",
  stopped: "stopped",
};

/** The status badge class of a daemon state (reusing the job colours). */
const STATE_CLASS: Record<DaemonView["state"], string> = {
  ok: "completed",
  stale: "retrying",
  dead: "error",
  stopped: "cancelled",
};

function Work({ daemon, runs }: { daemon: DaemonView; runs: JobRuns }) {
  if (daemon.running === null) return <span class="muted">—</span>;
  if (daemon.running.length === 0) return <span class="muted">idle</span>;
  return (
    <ul class="plain">
      {daemon.running.map((id) => {
        const run = runs.get(id);
        return (
          <li key={id}>
            {run ? (
              <a href={runHref(run.instrument, run.run_number, run.version)}>
                {run.instrument} {run.run_number}
                {run.version === null ? "" : ` v${run.version}`}
              </a>
            ) : (
              <span class="mono">{id}</span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** The daemons table; htmx re-reads it on daemon events (admin.js) and every 10 s (ages move on). */
export function DaemonTable({ daemons, runs, all }: { daemons: DaemonView[]; runs: JobRuns; all: boolean }) {
  const silent = daemons.filter(isSilent).length;
  return (
    <section
      id="daemons"
      hx-get={`/admin/daemons/table${all ? "?all=1" : ""}`}
      hx-trigger="refresh, every 10s"
      hx-swap="outerHTML"
      data-refresh="daemon"
    >
      {daemons.length === 0 ? (
        <p class="muted">
          No daemon has sent a heartbeat{all ? "" : " in the last day"}. Is the coordinator running? It
          records every heartbeat it hears.
        </p>
      ) : (
        <table>
          <caption class={silent ? "field-error" : "muted"}>
            {daemons.length} daemon{daemons.length === 1 ? "" : "s"}
            {silent
              ? `, ${silent} silent (flagged): see “When a daemon is silent” in the operations guide`
              : ", all heard from"}
          </caption>
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col">Host</th>
              <th scope="col">Role</th>
              <th scope="col">PID</th>
              <th scope="col">Version</th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">Part</th>
              <th scope="col">Running now</th>
              <th scope="col">Slots</th>
            </tr>
          </thead>
          <tbody>
            {daemons.map((d) => (
              <tr key={d.daemon} class={isSilent(d) ? "flagged" : undefined} data-daemon={d.daemon}>
                <td>
                  <span class={`status status-${STATE_CLASS[d.state]}`}>{STATE_WORDS[d.state]}</span>
                </td>
                <td>{d.src_name}</td>
                <td>
                  {d.kind ?? "SNS agent"} <span class="muted">({d.role})</span>
                </td>
                <td class="num">{d.pid}</td>
                <td>{d.version ?? "—"}</td>
                <td title={formatTime(Date.parse(d.last_seen_at))}>
                  {formatAge(Date.parse(d.last_seen_at))}
                </td>
                <td>
                  {d.part_state ?? "—"}
                  {d.restarts ? `, ${d.restarts} restart${d.restarts === 1 ? "" : "s"}` : ""}
                  {d.last_error ? <div class="field-error">last failed: {d.last_error}</div> : null}
                </td>
                <td>
                  <Work daemon={d} runs={runs} />
                  {d.waiting?.length ? <div class="muted">{d.waiting.length} waiting for a slot</div> : null}
                </td>
                <td class="num">{d.slots ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const allOf = (query: unknown) => (query as Record<string, unknown>).all === "1";

/** `/admin/daemons`: every daemon's heartbeat, silent ones flagged, updated live. */
export function registerAdminDaemons(app: FastifyInstance, ctx: WebContext): void {
  app.get("/admin/daemons", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const all = allOf(request.query);
    const { heartbeat } = ctx.config;
    return ctx.page(
      reply,
      <AdminPage frame={await ctx.frame(request)} path="/admin/daemons" title="Daemons" live>
        <p class="help">
          Each part (coordinator, worker, listener, web) and each SNS agent on the broker sends a heartbeat
          every few seconds. Silent: none for {heartbeat.stale_seconds} s or three missed beats; dead: none
          for {heartbeat.dead_seconds} s; stopped: it said goodbye. A restarted daemon gets a new row (a new
          PID).{" "}
          {all ? (
            <a href="/admin/daemons">Show only daemons heard from in the last day</a>
          ) : (
            <a href="/admin/daemons?all=1">Show daemons not heard from for a day too</a>
          )}
        </p>
        <DaemonTable {...(await readDaemons(ctx, all))} all={all} />
      </AdminPage>,
    );
  });

  app.get("/admin/daemons/table", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const all = allOf(request.query);
    return sendFragment(reply, <DaemonTable {...(await readDaemons(ctx, all))} all={all} />);
  });
}
