import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { endSessions } from "../../store/admin-store.ts";
import { createSession } from "../../store/session-store.ts";
import { createToken, listTokens, revokeToken, TokenRefused } from "../../store/token-store.ts";
import {
  passwordHashOf,
  setPasswordHash,
  setPreferences,
  type UserRecord,
  userById,
} from "../../store/user-store.ts";
import { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from "../auth/passwords.ts";
import { SESSION_COOKIE } from "../auth/request-viewer.ts";
import { formatTime } from "../views/format.ts";
import { CsrfField, Layout, type PageFrame } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";
import { doneNotice, doneUrl } from "./admin-layout.tsx";
import { SecretOnce, TokenTable } from "./admin-tokens.tsx";

const DAY_MS = 86_400_000;

/** Which run emails a person wants (sent by a later release; stored now). */
export const EMAIL_RUNS = ["off", "failures", "all"] as const;
export type EmailRuns = (typeof EMAIL_RUNS)[number];

/** A person's notification preferences, as stored in `users.preferences`. */
export interface NotificationPreferences {
  /** Email about runs of my experiments: never, when one fails, or whenever one ends. */
  email_runs: EmailRuns;
  /** One email a day summarising my experiments' runs. */
  daily_digest: boolean;
}

/** The preferences stored for a user, with the defaults (no email) for what was never chosen. */
export function notificationPreferences(stored: Record<string, unknown>): NotificationPreferences {
  const runs = stored.email_runs;
  return {
    email_runs: EMAIL_RUNS.includes(runs as EmailRuns) ? (runs as EmailRuns) : "off",
    daily_digest: stored.daily_digest === true,
  };
}

const NewToken = z.object({
  name: z.string().trim().min(1).max(100),
  expires_days: z.union([z.literal(""), z.coerce.number().int().min(1).max(3650)]).optional(),
});
const TokenParams = z.object({ id: z.coerce.number().int().positive() });
const PreferencesBody = z.object({
  email_runs: z.enum(EMAIL_RUNS),
  daily_digest: z.literal("1").optional(),
});
const PasswordBody = z.object({
  current: z.string().max(1000),
  password: z.string().max(1000),
  repeat: z.string().max(1000),
});

interface AccountExtra {
  error?: string;
  status?: number;
  created?: { name: string; token: string };
  /** Which form an error belongs to, so it is shown beside that form. */
  errorAt?: "tokens" | "password" | "preferences";
}

function Roles({ frame }: { frame: PageFrame }) {
  const v = frame.viewer;
  const scientist = [...v.scientistOf].sort();
  const member = [...v.memberOf].sort();
  if (!v.admin && scientist.length === 0 && member.length === 0)
    return (
      <p class="muted">
        None yet: you see only instruments open to everyone. Your instrument's scientists or the user office
        add you to your experiments.
      </p>
    );
  return (
    <ul>
      {v.admin ? (
        <li>
          <strong>Administrator</strong>: you see and change everything (<a href="/admin">admin page</a>).
        </li>
      ) : null}
      {scientist.map((i) => (
        <li key={`s${i}`}>
          Scientist of <a href={`/instruments/${encodeURIComponent(i)}`}>{i}</a>: you see and change
          everything of it.
        </li>
      ))}
      {member.map((e) => (
        <li key={`m${e}`}>
          Member of experiment <a href={`/experiments/${encodeURIComponent(e)}`}>{e}</a>: you see and re-run
          its runs.
        </li>
      ))}
    </ul>
  );
}

function FormError({ at, extra }: { at: AccountExtra["errorAt"]; extra: AccountExtra }) {
  return extra.error && extra.errorAt === at ? (
    <p class="error" role="alert">
      {extra.error}
    </p>
  ) : null;
}

async function accountPage(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  user: UserRecord,
  extra: AccountExtra = {},
) {
  const frame = await ctx.frame(request);
  const tokens = (await listTokens(ctx.database)).filter((t) => t.userId === user.id).reverse();
  const prefs = notificationPreferences(user.preferences);
  const owners = new Map([[user.id, user.username]]);
  return ctx.page(
    reply,
    <Layout frame={frame} title="Your account">
      <h1>Your account</h1>
      {doneNotice(request) ? (
        <p class="notice" role="status">
          {doneNotice(request)}
        </p>
      ) : null}
      {extra.error && !extra.errorAt ? (
        <p class="error" role="alert">
          {extra.error}
        </p>
      ) : null}
      <section class="card">
        <h2>You</h2>
        <dl class="facts">
          <dt>User name</dt>
          <dd>{user.username}</dd>
          <dt>Name</dt>
          <dd>{user.display_name ?? "—"}</dd>
          <dt>Email</dt>
          <dd>{user.email ?? "—"}</dd>
          <dt>Signs in with</dt>
          <dd>
            {{
              local: "a password kept here",
              ldap: "the facility directory (LDAP)",
              oidc: "single sign-on (OpenID Connect)",
            }[user.provider] ?? user.provider}
          </dd>
          <dt>Last sign-in</dt>
          <dd>{formatTime(user.last_login_at)}</dd>
        </dl>
        <h3>What you may do</h3>
        <Roles frame={frame} />
      </section>

      <section class="card" id="tokens">
        <h2>Personal API tokens</h2>
        <p class="help">
          A personal token lets your scripts use the API as you, with exactly your permissions (send it as{" "}
          <code>Authorization: Bearer &lt;token&gt;</code>). It is shown once, when you make it, and kept only
          as a hash. Revoke one you no longer use, or that may have leaked.
        </p>
        <FormError at="tokens" extra={extra} />
        {extra.created ? <SecretOnce {...extra.created} /> : null}
        {tokens.length === 0 ? (
          <p class="muted">You have no personal tokens.</p>
        ) : (
          <TokenTable
            frame={frame}
            tokens={tokens}
            owners={owners}
            revokePath={(t) => `/account/tokens/${t.id}/revoke`}
          />
        )}
        <form method="post" action="/account/tokens" class="stack">
          <CsrfField frame={frame} />
          <label for="token-name">Token name</label>
          <input
            id="token-name"
            name="name"
            required
            maxLength={100}
            placeholder={`${user.username}-laptop`}
            autocomplete="off"
          />
          <span class="help">Unique across the site; letters, digits and _ . @ -</span>
          <label for="token-expires">
            Expires after (days) <span class="help">(empty: never)</span>
          </label>
          <input id="token-expires" name="expires_days" type="number" min={1} max={3650} value="90" />
          <button type="submit">Make a token</button>
        </form>
      </section>

      <section class="card" id="notifications">
        <h2>Notifications</h2>
        <p class="help">
          Your choice is kept now; the emails themselves come with a later release of autoreduce (nothing is
          sent yet).{user.email ? "" : " Your account has no email address: ask the operators to add one."}
        </p>
        <FormError at="preferences" extra={extra} />
        <form method="post" action="/account/preferences" class="stack">
          <CsrfField frame={frame} />
          <fieldset>
            <legend>Email me about runs of my experiments</legend>
            {(
              [
                ["off", "Never"],
                ["failures", "When a run fails"],
                ["all", "Whenever a run finishes (completed or failed)"],
              ] as const
            ).map(([value, label]) => (
              <label key={value} class="check">
                <input type="radio" name="email_runs" value={value} checked={prefs.email_runs === value} />{" "}
                {label}
              </label>
            ))}
          </fieldset>
          <label class="check">
            <input type="checkbox" name="daily_digest" value="1" checked={prefs.daily_digest} /> A daily
            digest of my experiments' runs
          </label>
          <button type="submit">Save preferences</button>
        </form>
      </section>

      {user.provider === "local" ? (
        <section class="card" id="password">
          <h2>Password</h2>
          <FormError at="password" extra={extra} />
          <form method="post" action="/account/password" class="stack">
            <CsrfField frame={frame} />
            <label for="current">Current password</label>
            <input id="current" name="current" type="password" autocomplete="current-password" required />
            <label for="new-password">New password</label>
            <input
              id="new-password"
              name="password"
              type="password"
              autocomplete="new-password"
              minLength={MIN_PASSWORD_LENGTH}
              required
            />
            <span class="help">At least {MIN_PASSWORD_LENGTH} characters.</span>
            <label for="repeat">New password again</label>
            <input id="repeat" name="repeat" type="password" autocomplete="new-password" required />
            <button type="submit">Change password</button>
          </form>
        </section>
      ) : null}

      <section class="card" id="sign-out">
        <h2>Sign out</h2>
        <form method="post" action="/logout" class="inline">
          <CsrfField frame={frame} />
          <button type="submit" class="secondary">
            Sign out of this browser
          </button>
        </form>{" "}
        <form method="post" action="/account/sign-out-everywhere" class="inline">
          <CsrfField frame={frame} />
          <button type="submit" class="danger" data-confirm="Sign out of every browser, this one included?">
            Sign out everywhere
          </button>
        </form>
        <p class="help">
          Everywhere: every browser you are signed in with, on any computer. Your API tokens keep working;
          revoke them above.
        </p>
      </section>
    </Layout>,
    extra.status,
  );
}

/**
 * `/account`: the signed-in person's own page: who they are and what they may do, personal API
 * tokens (made, listed and revoked: their own only), notification preferences, password change
 * (local accounts), sign out here or everywhere. A browser session only: an API token cannot
 * manage tokens or passwords.
 */
export function registerAccount(app: FastifyInstance, ctx: WebContext): void {
  const { config, database } = ctx;
  const secure = config.web.secure_cookies ?? config.web.public_url?.startsWith("https:") ?? false;
  const lifetimeMs = config.web.session_hours * 3_600_000;

  /** The signed-in person (a browser session), or the answer refusing: 401 anonymous, 403 a token. */
  const person = async (request: FastifyRequest, reply: FastifyReply): Promise<UserRecord | null> => {
    const v = request.viewer;
    const user = v.kind === "user" && v.userId !== null ? await userById(database, v.userId) : null;
    if (user) return user;
    await ctx.deny(
      request,
      reply,
      v.kind === "token" ? "the account page with an API token (sign in with a browser)" : "your account",
    );
    return null;
  };

  app.get("/account", async (request, reply) => {
    const user = await person(request, reply);
    if (!user) return reply;
    return accountPage(ctx, request, reply, user);
  });

  app.post("/account/tokens", async (request, reply) => {
    const user = await person(request, reply);
    if (!user) return reply;
    const body = NewToken.safeParse(request.body);
    if (!body.success)
      return accountPage(ctx, request, reply, user, {
        error: "Give the token a name and, if it should expire, a number of days (1–3650).",
        errorAt: "tokens",
        status: 400,
      });
    try {
      const { token, record } = await createToken(database, {
        name: body.data.name,
        role: "user",
        userId: user.id,
        createdBy: user.username,
        expiresAt:
          typeof body.data.expires_days === "number" ? Date.now() + body.data.expires_days * DAY_MS : null,
      });
      ctx.log.info({ by: user.username, token: record.name }, "web: personal token created");
      return accountPage(ctx, request, reply, user, { created: { name: record.name, token } });
    } catch (e) {
      if (e instanceof TokenRefused)
        return accountPage(ctx, request, reply, user, { error: e.message, errorAt: "tokens", status: 422 });
      throw e;
    }
  });

  app.post("/account/tokens/:id/revoke", async (request, reply) => {
    const user = await person(request, reply);
    if (!user) return reply;
    const params = TokenParams.safeParse(request.params);
    const token = params.success
      ? (await listTokens(database)).find((t) => t.id === params.data.id)
      : undefined;
    if (!token)
      return accountPage(ctx, request, reply, user, {
        error: "No such token.",
        errorAt: "tokens",
        status: 404,
      });
    // Refused without the token's name: another person's token names are theirs to know.
    if (token.userId !== user.id) return ctx.deny(request, reply, `token ${token.id}, which is not yours`);
    await revokeToken(database, String(token.id));
    ctx.log.info({ by: user.username, token: token.name }, "web: personal token revoked");
    return reply.redirect(doneUrl("/account#tokens", "token-revoked"), 303);
  });

  app.post("/account/preferences", async (request, reply) => {
    const user = await person(request, reply);
    if (!user) return reply;
    const body = PreferencesBody.safeParse(request.body);
    if (!body.success)
      return accountPage(ctx, request, reply, user, {
        error: "Choose when to be emailed: never, on failures, or whenever a run finishes.",
        errorAt: "preferences",
        status: 400,
      });
    const chosen: NotificationPreferences = {
      email_runs: body.data.email_runs,
      daily_digest: body.data.daily_digest === "1",
    };
    await setPreferences(database, user.id, { ...user.preferences, ...chosen });
    return reply.redirect(doneUrl("/account", "preferences-saved"), 303);
  });

  app.post("/account/password", async (request, reply) => {
    const user = await person(request, reply);
    if (!user) return reply;
    const refuse = (error: string, status: number) =>
      accountPage(ctx, request, reply, user, { error, errorAt: "password", status });
    if (user.provider !== "local")
      return refuse(
        `Your password is kept by your sign-in provider (${user.provider}): change it there.`,
        422,
      );
    const body = PasswordBody.safeParse(request.body);
    if (!body.success) return refuse("Fill in your current password and the new one twice.", 400);
    const { current, password, repeat } = body.data;
    if (!(await verifyPassword(await passwordHashOf(database, user.username), current)))
      return refuse("Your current password is not right; nothing was changed.", 422);
    if (password.length < MIN_PASSWORD_LENGTH)
      return refuse(`The new password is too short: at least ${MIN_PASSWORD_LENGTH} characters.`, 422);
    if (password !== repeat) return refuse("The two new passwords differ; type the same one twice.", 422);
    await setPasswordHash(database, user.id, await hashPassword(password));
    // Every other browser signed in as this person is signed out; this one gets a new session.
    await endSessions(database, user.id);
    const session = await createSession(database, user.id, user.provider, lifetimeMs);
    reply.setCookie(SESSION_COOKIE, session.id, {
      path: "/",
      httpOnly: true,
      sameSite: "lax",
      secure,
      maxAge: Math.floor(lifetimeMs / 1000),
    });
    ctx.log.info({ username: user.username }, "web: password changed");
    return reply.redirect(doneUrl("/account", "password-changed"), 303);
  });

  app.post("/account/sign-out-everywhere", async (request, reply) => {
    const user = await person(request, reply);
    if (!user) return reply;
    const ended = await endSessions(database, user.id);
    ctx.log.info({ username: user.username, sessions: ended }, "web: signed out everywhere");
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
    return reply.redirect("/", 303);
  });
}
