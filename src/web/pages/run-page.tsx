import { createReadStream } from "node:fs";
import { realpath } from "node:fs/promises";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { runEvents } from "../../store/run-views.ts";
import { canChangeRun } from "../auth/viewer.ts";
import { LogStreams, readLogTail } from "../live/log-stream.ts";
import { formatTime } from "../views/format.ts";
import { CsrfField, Layout, type PageFrame, StatusBadge } from "../views/layout.tsx";
import { PlotPanel, runPlots, type StoredPlot } from "../views/plot-panel.tsx";
import { sendFragment } from "../views/render.ts";
import type { WebContext } from "../web-context.ts";
import { badRequest } from "./run-answers.tsx";
import {
  findReadableRun,
  type RunRecord,
  runPath,
  scriptTextOf,
  selectVersion,
  UNFINISHED,
  VersionNumber,
  type VersionRow,
} from "./run-data.ts";
import { registerRunDiff } from "./run-diff.tsx";
import {
  attachment,
  insideOutputRoot,
  listOutputFiles,
  type OutputListing,
  outputFile,
  zipOutput,
} from "./run-files.ts";
import { registerRunChanges } from "./run-rerun.tsx";
import {
  LogPanel,
  type LogView,
  Outcome,
  reasonText,
  Timeline,
  VersionsTable,
  WhatRan,
} from "./run-sections.tsx";
import { runTimeline, type TimelineItem } from "./run-timeline.ts";

const PageQuery = z.object({
  version: VersionNumber.optional(),
  /** After a re-run or cancel (the redirect's notice): the version concerned. */
  queued: VersionNumber.optional(),
  cancelled: VersionNumber.optional(),
});
const VersionQuery = z.object({ version: VersionNumber.optional() });
const LogQuery = z.object({ version: VersionNumber.optional(), stream: z.enum(["out", "err"]) });
const StreamQuery = LogQuery.extend({ from: z.coerce.number().int().nonnegative().optional() });

/** A run's page and everything under it: fragment, diff, logs, files, re-run and cancel. */
export function registerRunPage(app: FastifyInstance, ctx: WebContext): void {
  const streams = new LogStreams({ database: ctx.database, log: ctx.log });
  app.addHook("onClose", async () => streams.closeAll());
  const outputRoot = ctx.config.output.root;

  /** Finds the run and the version of `?version` (answering 400/401/403/404 itself when it cannot). */
  const runAndVersion = async <T extends { version?: number | undefined }>(
    request: FastifyRequest,
    reply: FastifyReply,
    schema: z.ZodType<T>,
  ): Promise<{ run: RunRecord; version: VersionRow; query: T } | null> => {
    const bad = (text: string) => badRequest(ctx, request, reply, text);
    const found = await findReadableRun(ctx, request, reply, bad);
    if ("reply" in found) return null;
    const query = schema.safeParse(request.query);
    if (!query.success) {
      await bad(
        `This address has a wrong parameter: ${query.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}.`,
      );
      return null;
    }
    const version = selectVersion(found.run, query.data.version);
    if (!version) {
      await ctx.notFound(
        request,
        reply,
        `Run ${found.run.run_number} of ${found.run.instrument} has no version ${query.data.version}; it has versions 0 to ${found.run.versions.length - 1}.`,
      );
      return null;
    }
    return { run: found.run, version, query: query.data };
  };

  app.get("/runs/:instrument/:run", async (request, reply) => {
    const found = await runAndVersion(request, reply, PageQuery);
    if (!found) return reply;
    const { run, version, query } = found;
    const [scriptText, events, plots, files, out, err, frame] = await Promise.all([
      scriptTextOf(ctx.database, version.job_id),
      runEvents(ctx.database, run.instrument, run.run_number),
      runPlots(ctx.database, outputRoot, run.instrument, run.run_number, ctx.log),
      listOutputFiles(outputRoot, version),
      logView(outputRoot, run, version, "out"),
      logView(outputRoot, run, version, "err"),
      ctx.frame(request),
    ]);
    const notice =
      query.queued !== undefined
        ? `Version ${query.queued} queued. It appears in the table below as soon as it is recorded.`
        : query.cancelled !== undefined
          ? `Version ${query.cancelled} cancelled.`
          : null;
    return ctx.page(
      reply,
      <RunPage
        frame={frame}
        run={run}
        version={version}
        scriptText={scriptText}
        timeline={runTimeline(run.versions, events)}
        plots={plots}
        files={files}
        logs={[out, err]}
        mayChange={canChangeRun(request.viewer, run)}
        notice={notice}
      />,
    );
  });

  // The parts of the page that change while versions run, for run-page.js to swap in by id.
  app.get("/runs/:instrument/:run/fragment/versions", async (request, reply) => {
    const found = await runAndVersion(request, reply, VersionQuery);
    if (!found) return reply;
    const { run, version } = found;
    const [files, events, plots, frame] = await Promise.all([
      listOutputFiles(outputRoot, version),
      runEvents(ctx.database, run.instrument, run.run_number),
      runPlots(ctx.database, outputRoot, run.instrument, run.run_number, ctx.log),
      ctx.frame(request),
    ]);
    return sendFragment(
      reply,
      <div>
        <VersionsTable run={run} selected={version.version} />
        <Outcome run={run} version={version} files={files} />
        <RunFacts run={run} version={version} />
        {canChangeRun(request.viewer, run) ? <Actions frame={frame} run={run} version={version} /> : null}
        <div id="timeline">
          <Timeline items={runTimeline(run.versions, events)} />
        </div>
        <div id="plots">
          <PlotPanel plots={plots} instrument={run.instrument} run={run.run_number} />
        </div>
      </div>,
    );
  });

  app.get("/runs/:instrument/:run/log", async (request, reply) => {
    const found = await runAndVersion(request, reply, LogQuery);
    if (!found) return reply;
    const { run, version, query } = found;
    const recorded = query.stream === "out" ? version.log_file : version.err_file;
    const real = recorded ? await insideOutputRoot(outputRoot, recorded) : null;
    if (!real)
      return ctx.notFound(
        request,
        reply,
        `Version ${version.version} of ${run.instrument} run ${run.run_number} has no readable ${query.stream === "out" ? "output" : "error"} log.`,
      );
    return reply
      .type("text/plain; charset=utf-8")
      .header("cache-control", "no-store")
      .header(
        "content-disposition",
        `inline; filename="${run.instrument}_${run.run_number}_v${version.version}.${query.stream === "out" ? "log" : "err"}"`,
      )
      .send(createReadStream(real));
  });

  app.get("/runs/:instrument/:run/log/stream", async (request, reply) => {
    const found = await runAndVersion(request, reply, StreamQuery);
    if (!found) return reply;
    const { version, query } = found;
    const lastId = Number(request.headers["last-event-id"]);
    streams.open(request, reply, {
      jobId: version.job_id,
      stream: query.stream,
      from: Number.isSafeInteger(lastId) && lastId >= 0 ? lastId : (query.from ?? 0),
      allowed: (path) => insideOutputRoot(outputRoot, path),
    });
    return reply;
  });

  app.get("/runs/:instrument/:run/files/*", async (request, reply) => {
    const found = await runAndVersion(request, reply, VersionQuery);
    if (!found) return reply;
    const name = (request.params as Record<string, string>)["*"] ?? "";
    const file = await outputFile(outputRoot, found.version, name);
    if (!file.ok) {
      if (file.status === 400) return badRequest(ctx, request, reply, file.reason);
      return ctx.notFound(request, reply, file.reason);
    }
    return reply
      .type("application/octet-stream")
      .header("content-disposition", attachment(file.name))
      .header("content-length", String(file.size))
      .header("cache-control", "no-store")
      .send(createReadStream(file.path));
  });

  app.get("/runs/:instrument/:run/files.zip", async (request, reply) => {
    const found = await runAndVersion(request, reply, VersionQuery);
    if (!found) return reply;
    const { run, version } = found;
    const zip = await zipOutput(outputRoot, version);
    if (!zip)
      return ctx.notFound(
        request,
        reply,
        `Version ${version.version} of ${run.instrument} run ${run.run_number} has no reduced files to download.`,
      );
    return reply
      .type("application/zip")
      .header(
        "content-disposition",
        attachment(`${run.instrument}_${run.run_number}_v${version.version}.zip`),
      )
      .header("cache-control", "no-store")
      .send(zip.stream);
  });

  registerRunDiff(app, ctx);
  registerRunChanges(app, ctx);
}

/** One log of a version as the page shows it. */
async function logView(
  outputRoot: string,
  run: RunRecord,
  version: VersionRow,
  stream: "out" | "err",
): Promise<LogView> {
  const path = stream === "out" ? version.log_file : version.err_file;
  const base = `${runPath(run.instrument, run.run_number)}/log`;
  const params = `version=${version.version}&stream=${stream}`;
  const live = UNFINISHED.includes(version.status) ? `${base}/stream?${params}` : null;
  const view: LogView = {
    stream,
    path,
    state: "none",
    text: "",
    size: 0,
    truncated: false,
    live,
    href: `${base}?${params}`,
  };
  if (!path) return view;
  const real = await insideOutputRoot(outputRoot, path);
  if (!real) {
    const exists = await realpath(path).then(
      () => true,
      () => false,
    );
    return { ...view, state: exists ? "outside" : "unreadable" };
  }
  const tail = await readLogTail(real);
  if (!tail) return { ...view, state: "unreadable" };
  return { ...view, state: "ok", ...tail };
}

function RunPage({
  frame,
  run,
  version,
  scriptText,
  timeline,
  plots,
  files,
  logs,
  mayChange,
  notice,
}: {
  frame: PageFrame;
  run: RunRecord;
  version: VersionRow;
  scriptText: string | null;
  timeline: TimelineItem[];
  plots: StoredPlot[];
  files: OutputListing;
  logs: LogView[];
  mayChange: boolean;
  notice: string | null;
}) {
  const latest = run.versions.at(-1) ?? version;
  const base = runPath(run.instrument, run.run_number);
  const isLatest = latest.version === version.version;
  return (
    <Layout
      frame={frame}
      title={`${run.instrument} run ${run.run_number}`}
      live={`/api/v1/events?instrument=${run.instrument}&run=${run.run_number}`}
      wide
    >
      <div class="run-page" data-run-page={base} data-selected-version={String(version.version)}>
        <nav aria-label="Breadcrumb" class="crumbs">
          <a href="/">Runs</a> › <a href={`/instruments/${run.instrument}`}>{run.instrument}</a> ›{" "}
          <a href={`/experiments/${encodeURIComponent(run.experiment)}`}>{run.experiment}</a>
        </nav>
        {/* The live status of the latest version: app.js updates the badge of this element only. */}
        <h1 data-run={`${run.instrument}/${run.run_number}`} data-version={String(latest.version)}>
          {`${run.instrument} run ${run.run_number} `}
          <StatusBadge status={latest.status} />
        </h1>
        {run.title ? <p class="subtitle">{run.title}</p> : null}
        {notice ? (
          <p class="notice" role="status">
            {notice}
          </p>
        ) : null}
        <div class="grid">
          <RunFacts run={run} version={version} />
          {mayChange ? <Actions frame={frame} run={run} version={version} /> : null}
        </div>
        <nav aria-label="On this page" class="jump">
          <a href="#versions-title">Versions</a> <a href="#version-title">{`Version ${version.version}`}</a>{" "}
          <a href="#logs-title">Logs</a> <a href="#files-title">Files</a> <a href="#plots-title">Plots</a>{" "}
          <a href="#timeline-title">Timeline</a>
        </nav>

        <section aria-labelledby="versions-title">
          <h2 id="versions-title">All versions</h2>
          <VersionsTable run={run} selected={version.version} />
        </section>

        <section aria-labelledby="version-title">
          <h2 id="version-title">
            {`Version ${version.version}`}
            {isLatest ? <span class="muted"> (latest)</span> : null}
          </h2>
          <dl class="facts">
            <dt>Why</dt>
            <dd>{reasonText(version.reason)}</dd>
            <dt>Started by</dt>
            <dd>{version.started_by ?? "— (automatic)"}</dd>
            {version.description ? (
              <>
                <dt>Description</dt>
                <dd>{version.description}</dd>
              </>
            ) : null}
            <dt>Created</dt>
            <dd>{formatTime(version.created_at)}</dd>
          </dl>
          <Outcome run={run} version={version} files={files} />
          <h3>What ran</h3>
          <WhatRan version={version} scriptText={scriptText} />
        </section>

        <section aria-labelledby="logs-title">
          <h2 id="logs-title">Logs</h2>
          <div class="grid logs">
            {logs.map((log) => (
              <LogPanel key={log.stream} log={log} />
            ))}
          </div>
        </section>

        <section aria-labelledby="plots-title">
          <h2 id="plots-title">Plots</h2>
          <div id="plots">
            <PlotPanel plots={plots} instrument={run.instrument} run={run.run_number} />
          </div>
        </section>

        <section aria-labelledby="timeline-title">
          <h2 id="timeline-title">Timeline</h2>
          <p class="help">
            Every message about this run and every version's start and end, oldest first (UTC).
          </p>
          <div id="timeline">
            <Timeline items={timeline} />
          </div>
        </section>
      </div>
      <script src="/static/run-page.js" defer />
    </Layout>
  );
}

/** Re-run and cancel, for those who may change the run (the server checks again on submit). */
function Actions({ frame, run, version }: { frame: PageFrame; run: RunRecord; version: VersionRow }) {
  const base = runPath(run.instrument, run.run_number);
  const latest = run.versions.at(-1) ?? version;
  const cancellable = UNFINISHED.includes(latest.status);
  return (
    <section id="actions" class="card actions" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <p>
        <a class="button" href={`${base}/rerun?version=${version.version}`}>
          {`Re-run with version ${version.version}'s values…`}
        </a>
      </p>
      <p class="help">
        Makes a new version. You can change variables and see the difference before anything is queued.
      </p>
      {cancellable ? (
        <form method="post" action={`${base}/cancel`} class="inline">
          <CsrfField frame={frame} />
          <button
            type="submit"
            class="danger"
            data-confirm={`Cancel version ${latest.version} of ${run.instrument} run ${run.run_number}?`}
          >
            {`Cancel version ${latest.version} (${latest.status})`}
          </button>
        </form>
      ) : null}
    </section>
  );
}

/** What the run is and where its files are (swapped in live: the count of versions changes). */
function RunFacts({ run, version }: { run: RunRecord; version: VersionRow }) {
  const latest = run.versions.at(-1) ?? version;
  return (
    <section id="run-facts" class="card" aria-label="About this run">
      <dl class="facts">
        <dt>Instrument</dt>
        <dd>
          <a href={`/instruments/${run.instrument}`}>{run.instrument}</a>
        </dd>
        <dt>Experiment</dt>
        <dd>
          <a href={`/experiments/${encodeURIComponent(run.experiment)}`}>{run.experiment}</a>
          {run.experiment_title ? <span class="muted">{` — ${run.experiment_title}`}</span> : null}
        </dd>
        <dt>Title</dt>
        <dd>{run.title ?? "—"}</dd>
        <dt>Data file</dt>
        <dd>
          <code>{run.data_file}</code>
        </dd>
        <dt>Output folder</dt>
        <dd>{version.output_dir ? <code>{version.output_dir}</code> : "—"}</dd>
        <dt>Versions</dt>
        <dd>{`${run.versions.length} (latest: v${latest.version}, ${latest.status})`}</dd>
      </dl>
    </section>
  );
}
