import { resolve } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import * as oidc from "openid-client";
import { z } from "zod";
import { ConfigError } from "../../config/config-error.ts";
import type { Config } from "../../config/load-config.ts";
import { readSecretFile } from "../../config/secret-file.ts";
import type { Logger } from "../../logging/logger.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import { type LoginMethod, safeNext, secureCookies, startSession } from "../pages/login-page.tsx";
import type { WebContext } from "../web-context.ts";
import { externalUsername, signInExternal } from "./external-accounts.ts";
import { failurePage } from "./sign-in-failure.tsx";

export type OidcConfig = NonNullable<Config["web"]["oidc"]>;

/** Holds the state, nonce, PKCE verifier and `next` between the redirect and the callback. */
export const OIDC_COOKIE = "ar_oidc";
const COOKIE_PATH = "/login/oidc";
/** How long a person has to sign in at the provider. */
const FLOW_SECONDS = 600;

const FlowCookie = z.strictObject({
  state: z.string().min(20).max(200),
  nonce: z.string().min(20).max(200),
  verifier: z.string().min(43).max(128),
  next: z.string().max(2000),
  /** The redirect_uri sent; the code exchange must send the same. */
  redirect: z.string().url(),
});
type FlowCookie = z.infer<typeof FlowCookie>;

/**
 * The client secret from `client_secret_file` (relative to `data_dir`). Like the job key, a file
 * everyone may read is refused: the secret lets anyone sign people in to the provider as us.
 */
export function readClientSecret(config: Pick<Config, "data_dir" | "source">, settings: OidcConfig): string {
  const file = resolve(config.data_dir, settings.client_secret_file);
  const text = readSecretFile(
    config.source,
    "web.oidc.client_secret_file",
    file,
    "anyone who reads it can sign people in to the provider as this application",
  );
  const problem = (text: string) =>
    new ConfigError(config.source, [`web.oidc.client_secret_file: ${file} ${text}`]);
  if (text.length === 0) throw problem("is empty: put the client secret the provider gave you in it");
  return text;
}

/**
 * Sign-in with an OpenID Connect provider (authorization code flow with PKCE, state and nonce).
 * `GET /login/oidc?next=…` sends the browser to the provider; `GET /login/oidc/callback` takes its
 * answer, exchanges the code, reads the ID token's claims (user name, groups), records the user
 * with the roles their groups give (external-accounts.ts) and starts a session like the form does.
 * What the callback must check (state, nonce, PKCE verifier, where to go next) waits in a
 * short-lived HttpOnly cookie scoped to `/login/oidc`; nothing of it is put in a URL beyond what
 * the protocol sends. The provider's metadata is fetched at the first sign-in, so a provider that
 * is down does not stop the web application from starting.
 */
export function oidcLogin(config: Config, database: SqlDatabase, log: Logger): LoginMethod {
  const settings = config.web.oidc;
  if (!settings) throw new Error("oidcLogin: web.oidc is not configured");
  const issuer = new URL(settings.issuer);
  if (issuer.protocol !== "https:" && !settings.allow_insecure_http)
    throw new ConfigError(config.source, [
      `web.oidc.issuer: ${settings.issuer} is not https (set web.oidc.allow_insecure_http: true only for a provider on this machine or in tests)`,
    ]);
  const secret = readClientSecret(config, settings);
  const name = settings.label ?? issuer.host;
  let discovered: Promise<oidc.Configuration> | null = null;
  const provider = () => {
    discovered ??= oidc
      .discovery(issuer, settings.client_id, undefined, oidc.ClientSecretBasic(secret), {
        execute: settings.allow_insecure_http ? [oidc.allowInsecureRequests] : [],
        timeout: settings.timeout_seconds,
      })
      .catch((e: unknown) => {
        discovered = null; // try again at the next sign-in
        throw e;
      });
    return discovered;
  };
  return {
    provider: "oidc",
    startUrl: COOKIE_PATH,
    label: `Sign in with ${name}`,
    routes: (app, ctx) => registerOidcRoutes(app, ctx, { settings, name, provider, database, log }),
  };
}

interface OidcRoutes {
  settings: OidcConfig;
  /** The provider's name for people ("Sign in with <name>"). */
  name: string;
  provider: () => Promise<oidc.Configuration>;
  database: SqlDatabase;
  log: Logger;
}

function registerOidcRoutes(app: FastifyInstance, ctx: WebContext, routes: OidcRoutes): void {
  const { settings, name, log } = routes;
  const secure = secureCookies(ctx.config);
  const fail = (request: FastifyRequest, reply: FastifyReply, status: number, reason: string, next = "/") =>
    failurePage(
      ctx,
      request,
      reply,
      status,
      `Sign-in with ${name} failed: ${reason}.`,
      `${COOKIE_PATH}?next=${encodeURIComponent(safeNext(next))}`,
    );

  app.get(COOKIE_PATH, async (request, reply) => {
    const next = safeNext((request.query as Record<string, unknown>).next);
    if (request.viewer.kind === "user") return reply.redirect(next);
    let configuration: oidc.Configuration;
    try {
      configuration = await routes.provider();
    } catch (e) {
      log.warn(
        { issuer: settings.issuer, reason: (e as Error).message },
        "web: OIDC provider did not answer",
      );
      return fail(request, reply, 503, `${name} did not answer (${(e as Error).message})`, next);
    }
    const flow: FlowCookie = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      next,
      redirect: `${baseUrl(ctx, request)}${COOKIE_PATH}/callback`,
    };
    const target = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: flow.redirect,
      scope: settings.scopes.join(" "),
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: "S256",
      state: flow.state,
      nonce: flow.nonce,
    });
    reply.setCookie(OIDC_COOKIE, Buffer.from(JSON.stringify(flow)).toString("base64url"), {
      path: COOKIE_PATH,
      httpOnly: true,
      // Lax: the provider's redirect back is a top-level GET from another site, which Lax lets through.
      sameSite: "lax",
      secure,
      maxAge: FLOW_SECONDS,
    });
    return reply.redirect(target.href, 303);
  });

  app.get(`${COOKIE_PATH}/callback`, async (request, reply) => {
    const flow = readFlow(request.cookies[OIDC_COOKIE]);
    reply.clearCookie(OIDC_COOKIE, { path: COOKIE_PATH });
    const query = request.query as Record<string, unknown>;
    if (typeof query.error === "string") {
      const said = typeof query.error_description === "string" ? query.error_description : query.error;
      log.info({ error: query.error.slice(0, 100) }, "web: OIDC provider refused the sign-in");
      return fail(request, reply, 401, `${name} said "${said.slice(0, 300)}"`, flow?.next);
    }
    if (!flow)
      return fail(
        request,
        reply,
        400,
        `this answer does not belong to a sign-in started in this browser in the last ${FLOW_SECONDS / 60} minutes`,
      );
    if (query.state !== flow.state) {
      log.warn({ ip: request.ip }, "web: OIDC callback with a state that does not match this browser's");
      return fail(
        request,
        reply,
        400,
        "the answer does not match the sign-in this browser started (state)",
        flow.next,
      );
    }
    const current = new URL(flow.redirect);
    current.search = new URL(request.url, "http://callback").search;
    let claims: oidc.IDToken;
    try {
      const tokens = await oidc.authorizationCodeGrant(await routes.provider(), current, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new Error("no ID token in the answer");
      claims = idClaims;
    } catch (e) {
      // The message and code only: never the tokens or the response body.
      const error = e as Error & { code?: string; error?: string };
      log.warn({ reason: error.message, code: error.code ?? error.error }, "web: OIDC code exchange failed");
      return fail(request, reply, 401, `its answer could not be checked (${error.message})`, flow.next);
    }
    const username = externalUsername(claims[settings.username_claim] ?? claims.sub);
    if (username === null) {
      log.warn(
        { claim: settings.username_claim },
        "web: OIDC user name claim missing or not a valid user name",
      );
      return fail(
        request,
        reply,
        401,
        `it gave no user name this site accepts (claim ${settings.username_claim})`,
        flow.next,
      );
    }
    const groups = groupsOf(claims[settings.groups_claim]);
    const outcome = await signInExternal(routes.database, log, {
      provider: "oidc",
      username,
      displayName: textClaim(claims.name),
      email: textClaim(claims.email),
      admin: settings.admin_groups.length > 0 ? settings.admin_groups.some((g) => groups.has(g)) : null,
      instruments: Object.entries(settings.scientist_groups)
        .filter(([, names]) => names.some((g) => groups.has(g)))
        .map(([instrument]) => instrument),
    });
    if ("refused" in outcome) return fail(request, reply, 403, outcome.refused, flow.next);
    await startSession(ctx, request, reply, outcome.userId, "oidc");
    return reply.redirect(safeNext(flow.next), 303);
  });
}

/** Where this site is, for the redirect_uri: `web.public_url`, else the address this request came to. */
function baseUrl(ctx: WebContext, request: FastifyRequest): string {
  const configured = ctx.config.web.public_url;
  if (configured) return configured.replace(/\/+$/, "");
  return `${request.protocol}://${request.host}`;
}

function readFlow(value: string | undefined): FlowCookie | null {
  if (!value || value.length > 4000) return null;
  try {
    const parsed = FlowCookie.safeParse(JSON.parse(Buffer.from(value, "base64url").toString("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The groups claim as names: a list of strings (or one string); anything else is no groups. */
function groupsOf(value: unknown): Set<string> {
  if (typeof value === "string") return new Set([value]);
  if (!Array.isArray(value)) return new Set();
  return new Set(value.filter((g): g is string => typeof g === "string"));
}

const textClaim = (value: unknown): string | null =>
  typeof value === "string" && value.length > 0 ? value.slice(0, 200) : null;
