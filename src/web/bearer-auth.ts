import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Logger } from "../logging/logger.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { authenticateToken, type TokenHolder } from "../store/token-store.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Who the request's `Authorization: Bearer` token belongs to; null without a valid one. */
    holder: TokenHolder | null;
  }
}

/** The token of `Authorization: Bearer <token>`, or null. Tokens in URLs are never read. */
export function bearerToken(request: Pick<FastifyRequest, "headers">): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
  return match?.[1] ?? null;
}

/**
 * Sets `request.holder` on every request from its bearer token (looked up by hash in
 * `api_tokens`). A missing or unknown token is not refused here: each route decides (reads are
 * open, changes need permission: web/api-permission.ts). The token is never logged.
 */
export function registerBearerAuth(app: FastifyInstance, database: SqlDatabase, log: Logger): void {
  app.decorateRequest("holder", null);
  app.addHook("onRequest", async (request) => {
    const token = bearerToken(request);
    request.holder = token ? await authenticateToken(database, token) : null;
    if (token && !request.holder)
      log.warn(
        `API: refused a token that is unknown, revoked or expired (${request.method} ${request.routeOptions.url ?? "?"})`,
      );
  });
}
