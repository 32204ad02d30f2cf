import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import helmet from "@fastify/helmet";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { sql } from "kysely";
import { z } from "zod";
import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { describeIssues } from "../messages/message-error.ts";
import { purgeSessions } from "../store/session-store.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import type { Transport } from "../transport/transport.ts";
import { registerChangeRoutes } from "./api-changes.ts";
import { registerApiReads } from "./api-reads.ts";
import { registerViewer } from "./auth/request-viewer.ts";
import { verdict } from "./auth/viewer.ts";
import { ChangeHub } from "./live/change-hub.ts";
import { LoginForm, type LoginMethod, preSessionCsrf, registerLogin } from "./pages/login-page.tsx";
import { WEB_MODULES } from "./pages/modules.ts";
import { registerStaticFiles } from "./static-files.ts";
import { MessagePage, type PageFrame } from "./views/layout.tsx";
import { sendPage } from "./views/render.ts";
import type { WebContext } from "./web-context.ts";

export interface WebServerDeps {
  config: Config;
  database: SqlDatabase;
  transport: Transport;
  host: string;
  port: number;
  log: Logger;
  /** Sign-in methods besides local accounts (LDAP, OIDC), made by the caller from the config. */
  loginMethods?: LoginMethod[];
}

export interface WebServer {
  app: FastifyInstance;
  url: string;
  hub: ChangeHub;
  close(): Promise<void>;
}

const EventsQuery = z.strictObject({
  instrument: z
    .string()
    .regex(/^[A-Za-z0-9_]+$/)
    .optional(),
  run: z.coerce.number().int().nonnegative().optional(),
  experiment: z.string().min(1).max(100).optional(),
  daemons: z.enum(["0", "1"]).optional(),
});

/** The banner is read at most this often (every page shows it). */
const BANNER_TTL_MS = 5_000;

/**
 * The web application: pages at `/`, the JSON API at `/api/v1/`, live updates, sign-in. Every
 * route decides what the request's viewer (web/auth/viewer.ts) may see or do; state-changing
 * browser requests carry a CSRF token; helmet sets a CSP that allows no inline script.
 */
export async function startWebServer(deps: WebServerDeps): Promise<WebServer> {
  const { config, database, log } = deps;
  const app = Fastify({
    logger: false,
    // Forwarded headers are believed only from the configured proxies, never from any client.
    trustProxy: config.web.trusted_proxies.length > 0 ? config.web.trusted_proxies : false,
    bodyLimit: 16 * 1024 * 1024,
  });
  await app.register(cookie);
  await app.register(formbody);
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    strictTransportSecurity: config.web.public_url?.startsWith("https:") ? undefined : false,
  });
  registerViewer(app, deps);
  registerStaticFiles(app);

  const hub = new ChangeHub(deps);
  await hub.start();
  let banner: { value: string | null; at: number } = { value: null, at: 0 };
  const readBanner = async (): Promise<string | null> => {
    if (Date.now() - banner.at < BANNER_TTL_MS) return banner.value;
    const row = await database.db
      .selectFrom("site_settings")
      .select("value")
      .where("key", "=", "banner")
      .executeTakeFirst();
    banner = { value: row?.value || null, at: Date.now() };
    return banner.value;
  };
  const methods = deps.loginMethods ?? [];
  const isApi = (request: FastifyRequest) =>
    request.url.startsWith("/api/") || request.url.startsWith("/plots/");
  const ctx: WebContext = {
    config,
    database,
    transport: deps.transport,
    log,
    hub,
    loginMethods: methods,
    frame: async (request) => ({ viewer: request.viewer, banner: await readBanner() }),
    page: (reply, page, status) => sendPage(reply, page, status),
    deny: (request, reply, what) => {
      const anonymous = verdict(request.viewer, false) === "unauthenticated";
      if (isApi(request)) {
        const error = anonymous
          ? `${what} needs you signed in, or an API token (Authorization: Bearer …; see \`autoreduce token create\`)`
          : `"${request.viewer.name}" is not allowed: ${what}`;
        if (anonymous) reply.header("www-authenticate", 'Bearer realm="autoreduce"');
        return reply.code(anonymous ? 401 : 403).send({ error });
      }
      return denyPage(ctx, request, reply, anonymous, what, methods);
    },
    notFound: (request, reply, what) => {
      if (isApi(request)) return reply.code(404).send({ error: what });
      return ctx.frame(request).then((frame) =>
        sendPage(
          reply,
          <MessagePage frame={frame} title="Not found">
            {what}
          </MessagePage>,
          404,
        ),
      );
    },
  };

  app.get("/healthz", async () => ({ ok: true }));
  app.get("/ready", async (_request, reply) => {
    const problems: string[] = [];
    await sql`select 1`.execute(database.db).catch((e: Error) => problems.push(`database: ${e.message}`));
    await withTimeout(deps.transport.depth(config.queues.data_ready), 3000).catch((e: Error) =>
      problems.push(`transport: ${e.message}`),
    );
    if (problems.length > 0) return reply.code(503).send({ ready: false, problems });
    return { ready: true };
  });
  // Live updates: job changes the viewer may see (optionally of one instrument, run or
  // experiment); daemon changes for administrators (`daemons=1`).
  app.get("/api/v1/events", async (request, reply) => {
    const q = EventsQuery.safeParse(request.query);
    if (!q.success) return reply.code(400).send({ error: "bad request", detail: describeIssues(q.error) });
    const v = request.viewer;
    if (v.kind === "anonymous" && v.anonymousRead.size === 0) return ctx.deny(request, reply, "live updates");
    hub.open(request, reply, { ...q.data, daemons: q.data.daemons === "1" });
    return reply;
  });
  registerLogin(app, ctx, methods);
  for (const method of methods) method.routes?.(app, ctx); // OIDC: its redirect and callback
  registerApiReads(app, ctx);
  registerChangeRoutes(app, ctx);
  for (const register of WEB_MODULES) register(app, ctx);

  app.setNotFoundHandler((request, reply) =>
    ctx.notFound(request, reply, `no such page: ${request.method} ${request.url.split("?")[0]}`),
  );
  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) log.error({ err: error, url: request.routeOptions.url }, "web: request failed");
    const text =
      status === 500
        ? "something went wrong on the server (it is logged); try again, or tell the operators"
        : error.message;
    if (isApi(request)) return reply.code(status).send({ error: text });
    return reply.code(status).type("text/plain; charset=utf-8").send(text);
  });

  const sweeper = setInterval(() => void purgeSessions(database).catch(() => {}), 3_600_000);
  sweeper.unref();
  app.addHook("onClose", async () => {
    clearInterval(sweeper);
    await hub.stop();
  });
  const url = await app.listen({ host: deps.host, port: deps.port });
  return { app, url, hub, close: () => app.close() };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function denyPage(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  anonymous: boolean,
  what: string,
  methods: LoginMethod[],
): Promise<FastifyReply> {
  const frame: PageFrame = await ctx.frame(request);
  if (anonymous) {
    // The sign-in form itself, answered 401, so that after signing in the person lands where they were.
    return sendPage(
      reply,
      <LoginForm
        frame={{ ...frame, preSessionCsrf: preSessionCsrf(request, reply, ctx.config) }}
        next={request.url}
        error={`Sign in to see ${what}.`}
        methods={methods}
      />,
      401,
    );
  }
  return sendPage(
    reply,
    <MessagePage frame={frame} title="Not allowed">
      <p>
        {`You (${request.viewer.name}) may not see or change ${what}.`} If you should, ask the instrument's
        scientists or your facility's user office to add you to the experiment.
      </p>
    </MessagePage>,
    403,
  );
}
