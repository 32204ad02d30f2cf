import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Config } from "../../config/load-config.ts";
import { createSession, deleteSession } from "../../store/session-store.ts";
import { findUser, passwordHashOf, recordLogin, userById } from "../../store/user-store.ts";
import { verifyPassword } from "../auth/passwords.ts";
import { PRE_SESSION_COOKIE, SESSION_COOKIE } from "../auth/request-viewer.ts";
import { CsrfField, Layout, type PageFrame } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";

/** A sign-in method besides the local form, shown as a button or extra fields (LDAP, OIDC). */
export interface LoginMethod {
  /** `ldap`, `oidc`. */
  provider: string;
  /**
   * Checks a user name and password (LDAP bind); resolves to the user id signed in, null when
   * refused. Providers that redirect (OIDC) leave this out and give `startUrl`.
   */
  checkPassword?: (username: string, password: string) => Promise<number | null>;
  /** OIDC: where the "Sign in with …" button goes, and its text. */
  startUrl?: string;
  label?: string;
  /** Routes of its own (OIDC: the redirect and the provider's callback), registered with the others. */
  routes?: (app: FastifyInstance, ctx: WebContext) => void;
}

/**
 * A sign-in provider cannot answer now (directory down or too slow): said as such on the form,
 * rather than "wrong password", and not counted as a failed attempt. The message is for people.
 */
export class ProviderUnavailable extends Error {
  override readonly name = "ProviderUnavailable";
}

/**
 * Where to go after signing in: a path on this site only (never another host). Control characters
 * are refused too: browsers drop tabs and newlines from a URL, so `/<TAB>/evil.example` would
 * become `//evil.example` (another host), and a newline cannot go in a Location header at all.
 */
export function safeNext(next: unknown): string {
  if (
    typeof next !== "string" ||
    !next.startsWith("/") ||
    next.startsWith("//") ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    /[\\\x00-\x1f\x7f]/.test(next)
  )
    return "/";
  return next.slice(0, 2000);
}

const LoginBody = z.object({
  username: z.string().min(1).max(100),
  password: z.string().min(1).max(1000),
  next: z.string().optional(),
  _csrf: z.string().optional(),
});

export function LoginForm({
  frame,
  next,
  error,
  methods,
  username,
}: {
  frame: PageFrame;
  next: string;
  error?: string | null;
  methods: LoginMethod[];
  username?: string;
}) {
  const redirects = methods.filter((m) => m.startUrl);
  return (
    <Layout frame={frame} title="Sign in">
      <section class="login">
        <h1>Sign in</h1>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        <form method="post" action="/login" class="stack">
          <CsrfField frame={frame} />
          <input type="hidden" name="next" value={next} />
          <label for="username">Username</label>
          <input id="username" name="username" autocomplete="username" required value={username ?? ""} />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
          <button type="submit">Sign in</button>
        </form>
        {redirects.map((m) => (
          <p key={m.provider}>
            <a class="button secondary" href={`${m.startUrl}?next=${encodeURIComponent(next)}`}>
              {m.label ?? `Sign in with ${m.provider}`}
            </a>
          </p>
        ))}
      </section>
    </Layout>
  );
}

/**
 * The CSRF value of a sign-in form shown before there is a session: the pre-session cookie's,
 * set here when the browser has none (double submit). Every page that shows the form needs it
 * (`/login`, and the 401 page of any other URL), or the form could not be posted.
 */
export function preSessionCsrf(request: FastifyRequest, reply: FastifyReply, config: Config): string {
  const existing = request.cookies[PRE_SESSION_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{20,64}$/.test(existing)) return existing;
  const value = randomBytes(24).toString("base64url");
  reply.setCookie(PRE_SESSION_COOKIE, value, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: secureCookies(config),
  });
  return value;
}

/**
 * `/login` (the form; local accounts and any password provider such as LDAP), `/logout`.
 * Sign-in is rate limited per client address and user name; a refusal says so plainly. The
 * session cookie is HttpOnly, SameSite=Lax, Secure when configured; the session id is new at
 * every sign-in (no fixation).
 */
export function registerLogin(app: FastifyInstance, ctx: WebContext, methods: LoginMethod[]): void {
  const { config, database } = ctx;
  const attempts = new LoginAttempts(config.web.login_attempts, config.web.login_window_minutes * 60_000);

  const preSession = (request: FastifyRequest, reply: FastifyReply) => preSessionCsrf(request, reply, config);
  const show = async (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    error: string | null,
    next: string,
    username?: string,
  ) => {
    const frame = { ...(await ctx.frame(request)), preSessionCsrf: preSession(request, reply) };
    return ctx.page(
      reply,
      <LoginForm frame={frame} next={next} error={error} methods={methods} username={username} />,
      status,
    );
  };

  app.get("/login", async (request, reply) => {
    const next = safeNext((request.query as Record<string, unknown>).next);
    if (request.viewer.kind === "user") return reply.redirect(next);
    return show(request, reply, 200, null, next);
  });

  app.post("/login", async (request, reply) => {
    const body = LoginBody.safeParse(request.body);
    const next = safeNext(body.success ? body.data.next : "/");
    if (!body.success) return show(request, reply, 400, "Enter your user name and password.", next);
    const { username, password } = body.data;
    const key = `${request.ip}\u0000${username.toLowerCase()}`;
    const wait = attempts.blockedFor(key);
    if (wait > 0)
      return show(
        request,
        reply,
        429,
        `Too many failed sign-ins for ${username} from this address: wait ${Math.ceil(wait / 60_000)} min and try again, or ask your facility's user office to reset your password.`,
        next,
        username,
      );
    const userId = await checkCredentials(ctx, methods, username, password);
    if (userId instanceof ProviderUnavailable) {
      ctx.log.warn({ username, ip: request.ip, reason: userId.message }, "web: sign-in provider unavailable");
      return show(request, reply, 503, userId.message, next, username);
    }
    if (userId === null) {
      attempts.failed(key);
      ctx.log.info({ username, ip: request.ip }, "web: sign-in refused");
      return show(request, reply, 401, "Unknown user name or wrong password.", next, username);
    }
    attempts.succeeded(key);
    const user = await userById(database, userId);
    await startSession(ctx, request, reply, userId, user?.provider ?? "local");
    return reply.redirect(next, 303);
  });

  app.post("/logout", async (request, reply) => {
    if (request.sessionId) await deleteSession(database, request.sessionId);
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
    return reply.redirect("/", 303);
  });
}

/** Session cookies only over HTTPS: as configured, else when the public address is https. */
export function secureCookies(config: WebContext["config"]): boolean {
  return config.web.secure_cookies ?? config.web.public_url?.startsWith("https:") ?? false;
}

/**
 * Signs the user in on this browser, whichever way they proved who they are (form, LDAP, OIDC):
 * a new session (never one the browser brought: no fixation), its HttpOnly cookie, the sign-in
 * time. The caller redirects.
 */
export async function startSession(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  userId: number,
  provider: string,
): Promise<void> {
  const lifetimeMs = ctx.config.web.session_hours * 3_600_000;
  if (request.sessionId) await deleteSession(ctx.database, request.sessionId);
  const session = await createSession(ctx.database, userId, provider, lifetimeMs);
  await recordLogin(ctx.database, userId);
  ctx.log.info({ userId, provider, ip: request.ip }, "web: signed in");
  reply.setCookie(SESSION_COOKIE, session.id, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: secureCookies(ctx.config),
    maxAge: Math.floor(lifetimeMs / 1000),
  });
}

/**
 * The user id the credentials sign in, trying local accounts first, then each password provider
 * (LDAP); a ProviderUnavailable when none accepted them and one could not answer. The sign-in
 * form and SNS's plot upload form both ask this.
 */
export async function checkCredentials(
  ctx: WebContext,
  methods: readonly LoginMethod[],
  username: string,
  password: string,
): Promise<number | null | ProviderUnavailable> {
  if (ctx.config.web.local_login) {
    const stored = await passwordHashOf(ctx.database, username);
    if (stored !== null) {
      if (!(await verifyPassword(stored, password))) return null;
      return (await findUser(ctx.database, username))?.id ?? null;
    }
  }
  let unavailable: ProviderUnavailable | null = null;
  for (const method of methods) {
    if (!method.checkPassword) continue;
    const id = await method.checkPassword(username, password).catch((e: unknown) => {
      if (e instanceof ProviderUnavailable) unavailable = e;
      else ctx.log.warn({ err: e, provider: method.provider }, "web: sign-in provider failed");
      return null;
    });
    if (id !== null) return id;
  }
  if (unavailable) return unavailable;
  if (ctx.config.web.local_login) await verifyPassword(null, password); // same time as a wrong password
  return null;
}

/** Failed sign-ins per key in a sliding window (in memory, per web process). */
export class LoginAttempts {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private recent(key: string, now: number): number[] {
    const kept = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else this.failures.set(key, kept);
    return kept;
  }

  /** Milliseconds until another try is allowed (0: now). */
  blockedFor(key: string, now = Date.now()): number {
    const recent = this.recent(key, now);
    if (recent.length < this.max) return 0;
    return (recent[recent.length - this.max] ?? now) + this.windowMs - now;
  }

  failed(key: string, now = Date.now()): void {
    this.failures.set(key, [...this.recent(key, now), now]);
    if (this.failures.size > 100_000) this.failures.clear(); // bounded memory under a flood
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }
}
