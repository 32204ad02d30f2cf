import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { requestRerun } from "../../coordinator/operations.ts";
import { InfrastructureError } from "../../failures/infrastructure-error.ts";
import { RefusedError } from "../../failures/refused-error.ts";
import {
  type FailureView,
  hideFailures,
  listFailures,
  runsOfJobs,
  unhideFailures,
} from "../../store/admin-store.ts";
import { type JobView, listJobs } from "../../store/job-views.ts";
import type { JobStatus } from "../../store/schema.ts";
import { formatAge, formatTime } from "../views/format.ts";
import { CsrfField, StatusBadge } from "../views/layout.tsx";
import { sendFragment } from "../views/render.ts";
import type { WebContext } from "../web-context.ts";
import { AdminPage, doneNotice, doneUrl, Repeated, reasonLine, requireAdmin } from "./admin-layout.tsx";

/** At most this many jobs of each active status are listed (the count says when there are more). */
const ACTIVE_SHOWN = 200;
/** Failures per page. */
const FAILURES_SHOWN = 100;
const ACTIVE: JobStatus[] = ["running", "retrying", "queued"];

const JobsQuery = z.object({
  hidden: z.enum(["0", "1"]).optional(),
  before: z.coerce.number().int().positive().optional(),
});
const FailuresBody = z.object({
  action: z.enum(["rerun", "hide", "unhide"]),
  job: Repeated(z.coerce.number().int().positive()),
});

/** `/runs/INST/RUN` (with the version when given). */
export function runHref(instrument: string, run: number, version?: number | null): string {
  const base = `/runs/${encodeURIComponent(instrument)}/${run}`;
  return version === null || version === undefined ? base : `${base}?version=${version}`;
}

/** What a job is about, as a link to its run when it has one. */
function JobSubject({ job }: { job: Pick<JobView, "instrument" | "run_number" | "version" | "subject"> }) {
  if (job.instrument && job.run_number !== null)
    return (
      <a href={runHref(job.instrument, job.run_number, job.version)}>
        {job.instrument} {job.run_number}
        {job.version === null ? "" : ` v${job.version}`}
      </a>
    );
  return <span>{job.subject}</span>;
}

/** When an active job began what it is doing now: running since STARTED, else waiting since made. */
function activeSince(job: JobView): number {
  return Date.parse(job.status === "running" ? (job.started_at ?? job.created_at) : job.created_at);
}

/** The queued and running jobs table; htmx re-reads it on job events (admin.js) and every 30 s. */
export function ActiveJobs({ jobs, more }: { jobs: JobView[]; more: JobStatus[] }) {
  const now = Date.now();
  return (
    <section
      id="active-jobs"
      hx-get="/admin/jobs/active"
      hx-trigger="refresh, every 30s"
      hx-swap="outerHTML"
      data-refresh="job"
      aria-live="polite"
    >
      {jobs.length === 0 ? (
        <p class="muted">Nothing is queued or running now.</p>
      ) : (
        <table>
          <caption class="muted">
            {jobs.length} job{jobs.length === 1 ? "" : "s"} queued or running
            {more.length ? ` (the first ${ACTIVE_SHOWN} of each of: ${more.join(", ")})` : ""}
          </caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Kind</th>
              <th scope="col">Run or subject</th>
              <th scope="col">For how long</th>
              <th scope="col">Host</th>
              <th scope="col">Queue</th>
              <th scope="col">Attempts</th>
              <th scope="col">Job</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => (
              <tr
                key={job.id}
                data-run={
                  job.instrument && job.run_number !== null
                    ? `${job.instrument}/${job.run_number}`
                    : undefined
                }
                data-version={job.version ?? undefined}
              >
                <td>
                  <StatusBadge status={job.status} />
                </td>
                <td>{job.kind}</td>
                <td>
                  <JobSubject job={job} />
                </td>
                <td title={formatTime(activeSince(job))}>
                  {formatAge(activeSince(job), now).replace(" ago", "")}
                </td>
                <td>{job.host ?? "—"}</td>
                <td class="mono">{job.queue ?? "default"}</td>
                <td class="num">{job.attempts}</td>
                <td class="mono">{job.job_id}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

async function activeJobs(ctx: WebContext): Promise<{ jobs: JobView[]; more: JobStatus[] }> {
  const lists = await Promise.all(
    ACTIVE.map((status) => listJobs(ctx.database, { status, limit: ACTIVE_SHOWN + 1 })),
  );
  const more = ACTIVE.filter((_, i) => (lists[i]?.length ?? 0) > ACTIVE_SHOWN);
  return { jobs: lists.flatMap((l) => l.slice(0, ACTIVE_SHOWN)), more };
}

function FailureTable({ failures, hidden }: { failures: FailureView[]; hidden: boolean }) {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Select</th>
          <th scope="col">Run or subject</th>
          <th scope="col">Experiment</th>
          <th scope="col">Failed</th>
          <th scope="col">Reason</th>
          <th scope="col">Host</th>
          {hidden ? <th scope="col">Hidden by</th> : null}
        </tr>
      </thead>
      <tbody>
        {failures.map((f) => (
          <tr key={f.id}>
            <td>
              <input
                type="checkbox"
                name="job"
                value={String(f.id)}
                id={`job-${f.id}`}
                aria-label={`select ${f.subject}${f.version === null ? "" : ` version ${f.version}`}`}
              />
            </td>
            <td>
              <JobSubject job={f} /> {f.kind === "reduction" ? null : <span class="muted">({f.kind})</span>}
            </td>
            <td>{f.experiment ?? "—"}</td>
            <td title={formatTime(f.failed_at)}>{formatAge(f.failed_at)}</td>
            <td class="reason" title={f.message ?? undefined}>
              {reasonLine(f.message, 160) || "—"}
            </td>
            <td>{f.host ?? "—"}</td>
            {hidden ? (
              <td>
                {f.hidden_by ?? "—"}, {formatAge(f.hidden_at)}
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The result of a batch re-run: per instrument, the runs queued and those refused (with why). */
interface RerunOutcome {
  instrument: string;
  queued: number[];
  refused: Array<{ run_number: number; reason: string }>;
  error: string | null;
}

/**
 * `/admin/jobs`: what is queued and running (live), and the failures still to look at, which an
 * operator re-runs (one signed request per instrument, with the admin's re-run cap) or hides.
 */
export function registerAdminJobs(app: FastifyInstance, ctx: WebContext): void {
  const deps = { config: ctx.config, database: ctx.database, transport: ctx.transport, log: ctx.log };

  app.get("/admin/jobs", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const q = JobsQuery.safeParse(request.query);
    if (!q.success)
      return reply.code(400).type("text/plain").send("bad query: hidden=0|1, before=<job row id>");
    const hidden = q.data.hidden === "1";
    const [active, failures] = await Promise.all([
      activeJobs(ctx),
      listFailures(ctx.database, { hidden, before: q.data.before, limit: FAILURES_SHOWN + 1 }),
    ]);
    const frame = await ctx.frame(request);
    const shown = failures.slice(0, FAILURES_SHOWN);
    const next = failures.length > FAILURES_SHOWN ? shown.at(-1)?.id : undefined;
    return ctx.page(
      reply,
      <AdminPage frame={frame} path="/admin/jobs" title="Jobs" notice={doneNotice(request)} live>
        <h3>Queued and running</h3>
        <ActiveJobs {...active} />
        <h3 id="failures">{hidden ? "Hidden failures" : "Failures to look at"}</h3>
        <p class="help">
          {hidden
            ? "Failures an operator hid. Show one again to put it back in the list of failures."
            : "The latest version of each run that ended in error, newest first. Re-run the ones whose cause is fixed; hide the ones you have dealt with (they stay on their run's page). A failure that a later version replaced is not listed."}{" "}
          {hidden ? (
            <a href="/admin/jobs#failures">Back to failures to look at</a>
          ) : (
            <a href="/admin/jobs?hidden=1#failures">Show hidden failures</a>
          )}
        </p>
        {shown.length === 0 ? (
          <p class="muted">
            {hidden
              ? "No failure is hidden."
              : "No failures to look at — every run's latest version succeeded or is under way."}
          </p>
        ) : (
          <form method="post" action="/admin/jobs/failures">
            <CsrfField frame={frame} />
            <FailureTable failures={shown} hidden={hidden} />
            <p class="actions">
              {hidden ? (
                <button type="submit" name="action" value="unhide">
                  Show selected again
                </button>
              ) : (
                <>
                  <button type="submit" name="action" value="rerun">
                    Re-run selected
                  </button>
                  <button type="submit" name="action" value="hide" class="secondary">
                    Hide selected
                  </button>
                </>
              )}
            </p>
          </form>
        )}
        {next ? (
          <p class="pager">
            <a href={`/admin/jobs?${hidden ? "hidden=1&" : ""}before=${next}#failures`}>Older failures →</a>
          </p>
        ) : null}
      </AdminPage>,
    );
  });

  app.get("/admin/jobs/active", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    return sendFragment(reply, <ActiveJobs {...(await activeJobs(ctx))} />);
  });

  app.post("/admin/jobs/failures", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const body = FailuresBody.safeParse(request.body);
    const frame = await ctx.frame(request);
    const back = (error: string, status: number) =>
      ctx.page(
        reply,
        <AdminPage frame={frame} path="/admin/jobs" title="Jobs" error={error}>
          <p>
            <a href="/admin/jobs#failures">Back to the failures</a>
          </p>
        </AdminPage>,
        status,
      );
    if (!body.success) return back("Choose re-run, hide or show again, with job numbers from the list.", 400);
    const { action, job: ids } = body.data;
    if (ids.length === 0)
      return back("Nothing was selected: tick the failures first, then choose what to do.", 422);
    const by = request.viewer.name ?? "admin";
    if (action === "hide") {
      const n = await hideFailures(ctx.database, ids, by);
      ctx.log.info({ by, jobs: ids, hidden: n }, "web: failures hidden");
      return reply.redirect(doneUrl("/admin/jobs", "hidden", n), 303);
    }
    if (action === "unhide") {
      const n = await unhideFailures(ctx.database, ids);
      ctx.log.info({ by, jobs: ids, shown: n }, "web: hidden failures shown again");
      return reply.redirect(doneUrl("/admin/jobs?hidden=1", "unhidden", n), 303);
    }
    const outcomes = await batchRerun(deps, await runsOfJobs(ctx.database, ids), by);
    ctx.log.info({ by, outcomes }, "web: batch re-run of failures");
    return ctx.page(
      reply,
      <AdminPage frame={frame} path="/admin/jobs" title="Re-runs requested">
        <RerunResult outcomes={outcomes} />
        <p>
          <a href="/admin/jobs">Back to jobs</a> — new versions appear there as queued, and on each run's
          page.
        </p>
      </AdminPage>,
    );
  });
}

/** One re-run request per instrument for the runs of the chosen jobs, as an admin; never throws for refusals. */
async function batchRerun(
  deps: Parameters<typeof requestRerun>[0],
  jobs: Awaited<ReturnType<typeof runsOfJobs>>,
  by: string,
): Promise<RerunOutcome[]> {
  const byInstrument = new Map<string, Set<number>>();
  const notRuns: RerunOutcome = { instrument: "(not run reductions)", queued: [], refused: [], error: null };
  for (const job of jobs) {
    if (job.instrument === null || job.run_number === null) {
      notRuns.error = "watch, trigger and live jobs are not re-run from here: they start again on their own";
      continue;
    }
    byInstrument.set(job.instrument, (byInstrument.get(job.instrument) ?? new Set()).add(job.run_number));
  }
  const outcomes: RerunOutcome[] = [];
  for (const [instrument, runs] of [...byInstrument].sort(([a], [b]) => a.localeCompare(b))) {
    const run_numbers = [...runs].sort((a, b) => a - b);
    try {
      const preview = await requestRerun(
        deps,
        {
          instrument,
          run_numbers,
          role: "admin",
          started_by: by,
          description: "re-run of failures from the admin page",
        },
        false,
      );
      outcomes.push({ instrument, queued: preview.queue, refused: preview.refused, error: null });
    } catch (e) {
      if (!(e instanceof RefusedError || e instanceof InfrastructureError)) throw e;
      outcomes.push({ instrument, queued: [], refused: [], error: e.message });
    }
  }
  return notRuns.error ? [...outcomes, notRuns] : outcomes;
}

function RerunResult({ outcomes }: { outcomes: RerunOutcome[] }) {
  if (outcomes.length === 0) return <p class="muted">None of the selected jobs could be found any more.</p>;
  return (
    <table class="rowheads">
      <thead>
        <tr>
          <th scope="col">Instrument</th>
          <th scope="col">Queued for a new version</th>
          <th scope="col">Not re-run, and why</th>
        </tr>
      </thead>
      <tbody>
        {outcomes.map((o) => (
          <tr key={o.instrument}>
            <th scope="row">{o.instrument}</th>
            <td>
              {o.queued.length === 0
                ? "none"
                : o.queued.map((run, i) => (
                    <span key={run}>
                      {i > 0 ? ", " : ""}
                      <a href={runHref(o.instrument, run)}>{run}</a>
                    </span>
                  ))}
            </td>
            <td>
              {o.error ? <p class="field-error">{o.error}</p> : null}
              {o.refused.length === 0 && !o.error ? "—" : null}
              <ul class="plain">
                {o.refused.map((r) => (
                  <li key={r.run_number}>
                    {r.run_number}: {r.reason}
                  </li>
                ))}
              </ul>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
