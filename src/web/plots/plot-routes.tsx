import multipart from "@fastify/multipart";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { render } from "preact-render-to-string";
import { z } from "zod";
import { describeIssues } from "../../messages/message-error.ts";
import { subscribeChanges } from "../../service/change-subscriber.ts";
import type { Subscription } from "../../transport/transport.ts";
import { userViewer } from "../auth/request-viewer.ts";
import { canManageInstrument, canReadInstrument, canReadRun, type Viewer } from "../auth/viewer.ts";
import { checkCredentials, LoginAttempts, ProviderUnavailable } from "../pages/login-page.tsx";
import { FigureSvg } from "../views/figure-svg.tsx";
import type { WebContext, WebModule } from "../web-context.ts";
import { drawnFigures } from "./drawn-figures.ts";
import { ingestPlotFiles } from "./plot-files.ts";
import { type ParsedPlot, parsePlotBody, parsePlotText } from "./plot-input.ts";
import {
  findPlot,
  findRun,
  hasVersion,
  insertPlot,
  listPlots,
  type PlotRecord,
  plotWithFigure,
  type RunOfPlots,
} from "./plot-store.ts";
import { plotAsText } from "./plot-text.ts";
import { PlotParseError, parseLenientJson } from "./plotly-div.ts";

/** The largest upload: a body, a multipart file or field. */
const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;
/** A plot's name when the upload gives none. */
const DEFAULT_NAME = "reduction";

const RunParams = z.strictObject({
  instrument: z.string().regex(/^[A-Za-z0-9_]+$/, "an instrument name is letters, digits and _"),
  run: z.coerce.number().int().nonnegative(),
});
const PlotParams = RunParams.extend({ id: z.coerce.number().int().positive() });
const PlotQuery = z.strictObject({ format: z.enum(["json", "text", "svg"]).optional() });
const FormName = z.string().trim().min(1).max(100);

const bad = (reply: FastifyReply, error: string, detail?: string) =>
  reply.code(400).send(detail === undefined ? { error } : { error, detail });

/** A 400 for a body the content parser could not read (JSON with a reason). */
function unreadable(e: unknown): Error {
  const message = e instanceof PlotParseError ? e.message : "the body could not be read";
  return Object.assign(new Error(message), { statusCode: 400 });
}

/** Where a plot is, for answers and pages. */
function plotLinks(p: { instrument: string; run: number; id: number }) {
  const url = `/api/v1/plots/${p.instrument}/${p.run}/${p.id}`;
  return {
    url,
    text_url: `${url}?format=text`,
    svg_url: `${url}?format=svg`,
    page: `/runs/${p.instrument}/${p.run}#plot-${p.id}`,
  };
}

const listed = (p: PlotRecord) => ({ ...p, ...plotLinks(p) });

/** `INST_RUN_name.txt`, with only safe characters. */
const textFileName = (p: PlotRecord) =>
  `${p.instrument}_${p.run}_${p.name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60)}.txt`;

/**
 * Plots: publishing (`POST /api/v1/plots/<INST>/<RUN>`, and SNS live_data_server's form at
 * `/plots/<INST>/<RUN>/upload_plot_data/` so that `publish_plot` works when only its URL changes)
 * and reading (`GET /api/v1/plots/<INST>/<RUN>[/<ID>]`, `?format=text|svg`, SNS's
 * `/plots/<INST>/<RUN>/update/json/`). Publishing needs `canManageInstrument` (the instrument's
 * scientists, admins, a scientist token of the instrument); reading `canReadRun`. Uploads are
 * parsed into our checked figure (plot-input.ts): an uploaded `<div>` is only scanned, never
 * inserted or run. Completed versions' plot files are read as they complete (plot-files.ts).
 */
export const registerPlots: WebModule = (app, ctx) => {
  const attempts = new LoginAttempts(
    ctx.config.web.login_attempts,
    ctx.config.web.login_window_minutes * 60_000,
  );
  app.register(async (scope) => {
    // JSON here also reads Python's NaN and Infinity (json.dumps writes them; they are gaps).
    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser(
      "application/json",
      { parseAs: "string", bodyLimit: MAX_UPLOAD_BYTES },
      (_r, body, done) => {
        try {
          done(null, parseLenientJson(String(body), "upload"));
        } catch (e) {
          done(unreadable(e), undefined);
        }
      },
    );
    // A Plotly <div> posted as it is.
    scope.addContentTypeParser(
      ["text/html", "text/plain"],
      { parseAs: "string", bodyLimit: MAX_UPLOAD_BYTES },
      (_r, body, done) => done(null, String(body)),
    );
    await scope.register(multipart, {
      limits: { fileSize: MAX_UPLOAD_BYTES, fieldSize: MAX_UPLOAD_BYTES, files: 2, fields: 20, parts: 30 },
    });
    registerUpload(scope, ctx);
    registerSnsUpload(scope, ctx, attempts);
    registerReads(scope, ctx);
  });
  followCompletions(app, ctx);
};

/** Reads a version's plot files as soon as it completes (pages also read them when shown). */
function followCompletions(app: FastifyInstance, ctx: WebContext): void {
  let subscription: Subscription | null = null;
  app.addHook("onReady", async () => {
    subscription = await subscribeChanges(
      ctx.transport,
      ctx.config,
      (e) => {
        if (e.subject !== "job" || e.kind !== "reduction" || e.status !== "completed") return;
        if (!e.instrument || e.run_number === undefined) return;
        void ingestPlotFiles(ctx.database, ctx.config.output.root, e.instrument, e.run_number, ctx.log).catch(
          (err: unknown) =>
            ctx.log.warn({ err, instrument: e.instrument, run: e.run_number }, "web: plot files not read"),
        );
      },
      { log: ctx.log },
    ).catch((err: unknown) => {
      ctx.log.warn({ err }, "web: not following completed runs; plot files are read when their run is shown");
      return null;
    });
  });
  app.addHook("onClose", async () => {
    await subscription?.unsubscribe();
  });
}

/** Stores a parsed upload for the run and answers what was stored. */
async function store(
  ctx: WebContext,
  run: RunOfPlots,
  parsed: ParsedPlot,
  by: string | null,
  name: string | undefined,
): Promise<{ status: 200 | 400; body: Record<string, unknown> }> {
  if (
    parsed.version !== undefined &&
    !(await hasVersion(ctx.database, run.instrument, run.run, parsed.version))
  )
    return {
      status: 400,
      body: { error: `run ${run.run} of ${run.instrument} has no version ${parsed.version}` },
    };
  const version = parsed.version ?? run.latestVersion;
  const plotName = name ?? parsed.name ?? DEFAULT_NAME;
  const id = await insertPlot(ctx.database, {
    instrument: run.instrument,
    run: run.run,
    version,
    name: plotName,
    figure: parsed.figure,
    source: parsed.source,
    uploadedBy: by,
  });
  ctx.log.info(
    { instrument: run.instrument, run: run.run, id, version, by, source: parsed.source },
    "web: plot published",
  );
  return {
    status: 200,
    body: {
      id,
      instrument: run.instrument,
      run: run.run,
      name: plotName,
      version,
      source: parsed.source,
      notes: parsed.figure.notes ?? [],
      ...plotLinks({ instrument: run.instrument, run: run.run, id }),
    },
  };
}

/** Parses an upload: a JSON object (figure or series) or text (a Plotly div, or JSON). */
function parseUpload(body: unknown): ParsedPlot {
  return typeof body === "string" ? parsePlotText(body) : parsePlotBody(body);
}

function registerUpload(app: FastifyInstance, ctx: WebContext): void {
  app.post(
    "/api/v1/plots/:instrument/:run",
    {
      bodyLimit: MAX_UPLOAD_BYTES,
      // Permission before the body is read: a refused caller's upload is not parsed.
      onRequest: async (request, reply) => {
        const params = RunParams.safeParse(request.params);
        if (!params.success) return bad(reply, "bad request", describeIssues(params.error));
        if (!canManageInstrument(request.viewer, params.data.instrument))
          return ctx.deny(request, reply, `publishing plots of ${params.data.instrument.toUpperCase()}`);
      },
    },
    async (request, reply) => {
      const { instrument, run } = RunParams.parse(request.params);
      const found = await findRun(ctx.database, instrument, run);
      if (!found) return ctx.notFound(request, reply, `no run ${run} of ${instrument.toUpperCase()}`);
      let parsed: ParsedPlot;
      try {
        parsed = parseUpload(request.body);
      } catch (e) {
        if (e instanceof PlotParseError) return bad(reply, e.message);
        throw e;
      }
      const answer = await store(ctx, found, parsed, request.viewer.name, undefined);
      return reply.code(answer.status === 200 ? 201 : answer.status).send(answer.body);
    },
  );
}

/** The fields and file of the SNS form (multipart, or url-encoded with `file` as a field). */
async function readForm(
  request: FastifyRequest,
): Promise<{ fields: Record<string, string>; file: string | null }> {
  const fields: Record<string, string> = {};
  let file: string | null = null;
  if (request.isMultipart()) {
    for await (const part of request.parts()) {
      if (part.type === "file") {
        const content = await part.toBuffer();
        if (part.fieldname === "file" && file === null) file = content.toString("utf8");
      } else if (typeof part.value === "string") {
        fields[part.fieldname] = part.value;
      }
    }
  } else if (request.body && typeof request.body === "object") {
    for (const [k, v] of Object.entries(request.body as Record<string, unknown>))
      if (typeof v === "string") fields[k] = v;
  }
  return { fields, file: file ?? fields.file ?? null };
}

/**
 * SNS live_data_server's upload form: `username` + `password` form fields (local accounts,
 * checked like the sign-in form and rate limited with it) or a bearer token; the file field
 * `file` holds a Plotly `<div>` or JSON. A session cookie is not accepted here: the form carries
 * no CSRF token. Answers as live_data_server does: 200, 401 for bad credentials, 400 with the
 * reason for what cannot be read.
 */
function registerSnsUpload(app: FastifyInstance, ctx: WebContext, attempts: LoginAttempts): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = RunParams.safeParse(request.params);
    if (!params.success) return bad(reply, "bad request", describeIssues(params.error));
    const { instrument, run } = params.data;
    const { fields, file } = await readForm(request);
    const viewer =
      request.viewer.kind === "token"
        ? request.viewer
        : await formViewer(ctx, request, reply, fields, attempts);
    if (!viewer) return reply.sent ? reply : refuseUnknown(reply);
    if (!canManageInstrument(viewer, instrument))
      return reply
        .code(403)
        .send({ error: `"${viewer.name}" is not allowed: publishing plots of ${instrument.toUpperCase()}` });
    const found = await findRun(ctx.database, instrument, run);
    if (!found) return reply.code(404).send({ error: `no run ${run} of ${instrument.toUpperCase()}` });
    if (file === null) return bad(reply, "no plot in the form: send it as the multipart file field `file`");
    const name = fields.name === undefined ? undefined : FormName.safeParse(fields.name);
    if (name && !name.success) return bad(reply, "bad plot name", describeIssues(name.error));
    let parsed: ParsedPlot;
    try {
      parsed = parsePlotText(file);
    } catch (e) {
      if (e instanceof PlotParseError) return bad(reply, e.message);
      throw e;
    }
    const answer = await store(ctx, found, parsed, viewer.name, name?.data);
    return reply.code(answer.status).send(answer.body);
  };
  for (const path of [
    "/plots/:instrument/:run/upload_plot_data/",
    "/plots/:instrument/:run/upload_plot_data",
  ])
    app.post(path, { config: { csrf: false }, bodyLimit: MAX_UPLOAD_BYTES }, handler);
}

function refuseUnknown(reply: FastifyReply) {
  return reply
    .code(401)
    .header("www-authenticate", 'Bearer realm="autoreduce"')
    .send({ error: "unknown user name or wrong password (send `username` and `password`, or an API token)" });
}

/**
 * The viewer the form's `username` and `password` sign in (a local account), or null. Too many
 * failures from one address for one name answer 429 (then `reply.sent`).
 */
async function formViewer(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  fields: Record<string, string>,
  attempts: LoginAttempts,
): Promise<Viewer | null> {
  const { username, password } = fields;
  if (!username || !password || username.length > 100 || password.length > 1000) return null;
  const key = `${request.ip}\u0000${username.toLowerCase()}`;
  const wait = attempts.blockedFor(key);
  if (wait > 0) {
    await reply.code(429).send({
      error: `too many failed sign-ins for ${username} from this address: wait ${Math.ceil(wait / 60_000)} min`,
    });
    return null;
  }
  // The same check as the sign-in form: local accounts, then LDAP.
  const userId = await checkCredentials(ctx, ctx.loginMethods, username, password);
  if (userId instanceof ProviderUnavailable) {
    await reply.code(503).header("retry-after", "30").send({ error: userId.message });
    return null;
  }
  const viewer = userId === null ? null : await userViewer(ctx.database, ctx.config, userId, "user", null);
  if (!viewer) {
    attempts.failed(key);
    ctx.log.info({ username, ip: request.ip }, "web: plot upload refused (credentials)");
    return null;
  }
  attempts.succeeded(key);
  return viewer;
}

/**
 * Answers a read of a run's plots that is not allowed (or of a run that does not exist: 404 only
 * to whoever may read the instrument); null when it is allowed.
 */
function refuseRead(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  instrument: string,
  run: number,
  found: RunOfPlots | null,
) {
  const what = `plots of run ${run} of ${instrument.toUpperCase()}`;
  if (!found) {
    if (!canReadInstrument(request.viewer, instrument)) return ctx.deny(request, reply, what);
    return ctx.notFound(request, reply, `no run ${run} of ${instrument.toUpperCase()}`);
  }
  if (!canReadRun(request.viewer, found)) return ctx.deny(request, reply, what);
  return null;
}

function registerReads(app: FastifyInstance, ctx: WebContext): void {
  const { database } = ctx;
  app.get("/api/v1/plots/:instrument/:run", async (request, reply) => {
    const params = RunParams.safeParse(request.params);
    if (!params.success) return bad(reply, "bad request", describeIssues(params.error));
    const { instrument, run } = params.data;
    const found = await findRun(database, instrument, run);
    const refusal = refuseRead(ctx, request, reply, instrument, run, found);
    if (refusal) return refusal;
    await ingestPlotFiles(database, ctx.config.output.root, instrument, run, ctx.log);
    return (await listPlots(database, instrument, run)).map(listed);
  });

  app.get("/api/v1/plots/:instrument/:run/:id", async (request, reply) => {
    const params = PlotParams.safeParse(request.params);
    if (!params.success) return bad(reply, "bad request", describeIssues(params.error));
    const query = PlotQuery.safeParse(request.query);
    if (!query.success) return bad(reply, "bad request", describeIssues(query.error));
    const { instrument, run, id } = params.data;
    const found = await findRun(database, instrument, run);
    const refusal = refuseRead(ctx, request, reply, instrument, run, found);
    if (refusal) return refusal;
    const missing = () =>
      ctx.notFound(request, reply, `no plot ${id} of run ${run} of ${instrument.toUpperCase()}`);
    if (query.data.format === "svg") {
      // The picture is drawn from the cached drawing copy: no need to read every point.
      const record = await findPlot(database, instrument, run, id);
      const figure = record && (await drawnFigures(database, [id])).get(id);
      if (!record || !figure) return missing();
      const label = `${record.name}: plot of ${record.instrument} run ${record.run}`;
      return reply
        .header("cache-control", "private, max-age=300")
        .type("image/svg+xml; charset=utf-8")
        .send(render(<FigureSvg figure={figure} label={label} />));
    }
    const plot = await plotWithFigure(database, instrument, run, id);
    if (!plot) return missing();
    reply.header("cache-control", "private, max-age=300");
    if (query.data.format === "text")
      return reply
        .type("text/plain; charset=utf-8")
        .header("content-disposition", `attachment; filename="${textFileName(plot)}"`)
        .send(plotAsText(plot));
    const { figure, ...record } = plot;
    return {
      ...record,
      ...plotLinks(plot),
      data: figure.data,
      layout: figure.layout,
      notes: figure.notes ?? [],
    };
  });

  // SNS live_data_server's read (WebMon fetched it with a sha1 key; here the viewer's permission decides).
  const latestJson = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = RunParams.safeParse(request.params);
    if (!params.success) return bad(reply, "bad request", describeIssues(params.error));
    const { instrument, run } = params.data;
    const found = await findRun(database, instrument, run);
    const refusal = refuseRead(ctx, request, reply, instrument, run, found);
    if (refusal) return refusal;
    await ingestPlotFiles(database, ctx.config.output.root, instrument, run, ctx.log);
    const [latest] = await listPlots(database, instrument, run, 1);
    const plot = latest && (await plotWithFigure(database, instrument, run, latest.id));
    if (!plot)
      return reply.code(404).send({ error: `No data available for ${instrument.toUpperCase()} ${run}` });
    return { data: plot.figure.data, layout: plot.figure.layout };
  };
  for (const path of ["/plots/:instrument/:run/update/json/", "/plots/:instrument/:run/update/json"])
    app.get(path, latestJson);
}
