import type { FastifyRequest } from "fastify";

/** The token of `Authorization: Bearer <token>`, or null. Tokens in URLs are never read. */
export function bearerToken(request: Pick<FastifyRequest, "headers">): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
  return match?.[1] ?? null;
}
