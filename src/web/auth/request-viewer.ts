import { timingSafeEqual } from "node:crypto";
import "@fastify/cookie";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config/load-config.ts";
import type { Logger } from "../../logging/logger.ts";
import { findSession } from "../../store/session-store.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import { authenticateToken, type TokenHolder } from "../../store/token-store.ts";
import { userById, userGrants } from "../../store/user-store.ts";
import { bearerToken } from "../bearer-auth.ts";
import { anonymousViewer, type Viewer } from "./viewer.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Who asks (from the session cookie or bearer token; anonymous otherwise). */
    viewer: Viewer;
    /** The bearer token's holder (null without a valid one). */
    holder: TokenHolder | null;
    /** The session cookie's value, when a session was found. */
    sessionId: string | null;
  }
  interface FastifyContextConfig {
    /** False: the route authenticates each request itself (credentials in the form), so no CSRF token. */
    csrf?: boolean;
  }
}

export const SESSION_COOKIE = "ar_session";
/** Before sign-in: a random value a form carries back (double submit), so login forms resist CSRF too. */
export const PRE_SESSION_COOKIE = "ar_presession";
export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "x-csrf-token";

/** The Viewer of a user (with their roles and memberships). */
export async function userViewer(
  database: SqlDatabase,
  config: Config,
  userId: number,
  kind: "user" | "token",
  csrfToken: string | null,
): Promise<Viewer | null> {
  const user = await userById(database, userId);
  if (!user || user.disabled_at !== null) return null;
  const grants = await userGrants(database, user);
  return {
    kind,
    name: user.username,
    userId: user.id,
    admin: grants.admin,
    readAll: grants.admin,
    scientistOf: new Set(grants.scientistOf),
    memberOf: new Set(grants.memberOf),
    anonymousRead: new Set(config.web.anonymous_read.map((i) => i.toUpperCase())),
    csrfToken,
  };
}

/** The Viewer of an API token holder. */
export async function tokenViewer(
  database: SqlDatabase,
  config: Config,
  holder: TokenHolder,
): Promise<Viewer | null> {
  if (holder.role === "user") {
    if (holder.userId === null) return null;
    return userViewer(database, config, holder.userId, "token", null);
  }
  return {
    ...anonymousViewer(config.web.anonymous_read),
    kind: "token",
    name: holder.name,
    admin: holder.role === "admin",
    readAll: holder.role === "admin" || holder.role === "read",
    scientistOf: new Set(holder.role === "scientist" ? holder.instruments : []),
  };
}

const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Sets `request.viewer` on every request: a bearer token wins (and is never read from the URL),
 * then the session cookie, else anonymous. Then refuses (403) any state-changing request from a
 * browser that does not carry its CSRF token (`_csrf` form field or `X-CSRF-Token` header):
 * the session's token when signed in, the pre-session cookie's value before. Requests with a
 * bearer token carry no ambient credentials and need none.
 */
export function registerViewer(
  app: FastifyInstance,
  deps: { database: SqlDatabase; config: Config; log: Logger },
): void {
  const { database, config, log } = deps;
  const anonymous = anonymousViewer(config.web.anonymous_read);
  const idleMs = config.web.idle_minutes * 60_000;
  app.decorateRequest("viewer", null as unknown as Viewer);
  app.decorateRequest("holder", null);
  app.decorateRequest("sessionId", null);
  app.addHook("onRequest", async (request) => {
    request.viewer = anonymous;
    const token = bearerToken(request);
    if (token) {
      request.holder = await authenticateToken(database, token);
      if (!request.holder) {
        log.warn(
          `web: refused a token that is unknown, revoked or expired (${request.method} ${request.routeOptions.url ?? "?"})`,
        );
        return;
      }
      request.viewer = (await tokenViewer(database, config, request.holder)) ?? anonymous;
      return;
    }
    const cookie = request.cookies[SESSION_COOKIE];
    if (!cookie) return;
    const session = await findSession(database, cookie, idleMs);
    if (!session) return;
    const viewer = await userViewer(database, config, session.userId, "user", session.csrfToken);
    if (!viewer) return;
    request.viewer = viewer;
    request.sessionId = cookie;
  });
  app.addHook("preHandler", async (request, reply) => {
    if (["GET", "HEAD", "OPTIONS"].includes(request.method)) return;
    if (request.routeOptions.config?.csrf === false || request.viewer.kind === "token") return;
    // An API call without a session has no ambient credentials to abuse: the route answers 401.
    if (request.viewer.kind === "anonymous" && isApiPath(request.url)) return;
    const body = request.body as Record<string, unknown> | undefined;
    const sent =
      (typeof request.headers[CSRF_HEADER] === "string" ? (request.headers[CSRF_HEADER] as string) : null) ??
      (body && typeof body[CSRF_FIELD] === "string" ? (body[CSRF_FIELD] as string) : null);
    const expected = request.viewer.csrfToken ?? request.cookies[PRE_SESSION_COOKIE] ?? null;
    if (sent && expected && safeEqual(sent, expected)) return;
    return refuseCsrf(request, reply);
  });
}

const isApiPath = (url: string) => url.startsWith("/api/") || url.startsWith("/plots/");

function refuseCsrf(request: FastifyRequest, reply: FastifyReply) {
  const text =
    "this form has expired or did not come from this site (its security token is missing or wrong): go back, reload the page and try again";
  if (request.url.startsWith("/api/")) return reply.code(403).send({ error: text });
  return reply.code(403).type("text/plain; charset=utf-8").send(text);
}
