import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import {
  createToken,
  listTokens,
  revokeToken,
  type TokenRecord,
  TokenRefused,
} from "../../store/token-store.ts";
import { listUsers } from "../../store/user-store.ts";
import { formatAge, formatTime } from "../views/format.ts";
import { CsrfField, type PageFrame } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";
import { AdminPage, doneNotice, doneUrl, Repeated, requireAdmin } from "./admin-layout.tsx";

const DAY_MS = 86_400_000;

const NewToken = z.object({
  name: z.string().trim().min(1).max(100),
  role: z.enum(["admin", "scientist", "read"]),
  instruments: Repeated(z.string().trim().max(50)),
  expires_days: z.union([z.literal(""), z.coerce.number().int().min(1).max(3650)]).optional(),
});
const TokenParams = z.object({ id: z.coerce.number().int().positive() });

/** A token's state in words: active, revoked when, expired when. */
export function tokenState(token: TokenRecord, now = Date.now()): { text: string; active: boolean } {
  if (token.revoked_at !== null) return { text: `revoked ${formatTime(token.revoked_at)}`, active: false };
  if (token.expires_at !== null && token.expires_at <= now)
    return { text: `expired ${formatTime(token.expires_at)}`, active: false };
  return {
    text:
      token.expires_at === null ? "active, never expires" : `active until ${formatTime(token.expires_at)}`,
    active: true,
  };
}

/** The role of a token in words. */
export function roleWords(token: TokenRecord, owner: string | null): string {
  if (token.role === "user") return `personal: acts as ${owner ?? `user ${token.userId}`}`;
  if (token.role === "scientist") return `scientist of ${token.instruments.join(", ")}`;
  return token.role;
}

/** Where a freshly made secret is shown, once: the page that answers its creation, never again. */
export function SecretOnce({ name, token }: { name: string; token: string }) {
  return (
    <div class="notice secret-box" role="status">
      <p>
        Token <strong>{name}</strong> is made. Copy it now: it is shown this once only (the server keeps just
        a hash of it).
      </p>
      <p>
        <code class="secret">{token}</code>
      </p>
      <p class="help">
        Send it as <code>Authorization: Bearer &lt;token&gt;</code>. Keep it where you keep passwords; revoke
        it if it leaks.
      </p>
    </div>
  );
}

export function TokenTable({
  frame,
  tokens,
  owners,
  revokePath,
}: {
  frame: PageFrame;
  tokens: TokenRecord[];
  owners: Map<number, string>;
  revokePath: (token: TokenRecord) => string;
}) {
  const now = Date.now();
  return (
    <table class="rowheads">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Role</th>
          <th scope="col">Made</th>
          <th scope="col">State</th>
          <th scope="col">Last used</th>
          <th scope="col">Revoke</th>
        </tr>
      </thead>
      <tbody>
        {tokens.map((t) => {
          const state = tokenState(t, now);
          return (
            <tr key={t.id}>
              <th scope="row" class="mono">
                {t.name}
              </th>
              <td>{roleWords(t, t.userId === null ? null : (owners.get(t.userId) ?? null))}</td>
              <td>
                {formatTime(t.created_at)}
                {t.created_by ? <div class="muted">by {t.created_by}</div> : null}
              </td>
              <td class={state.active ? undefined : "muted"}>{state.text}</td>
              <td title={formatTime(t.last_used_at)}>{formatAge(t.last_used_at, now)}</td>
              <td>
                {state.active ? (
                  <form method="post" action={revokePath(t)} class="inline">
                    <CsrfField frame={frame} />
                    <button
                      type="submit"
                      class="danger"
                      data-confirm={`Revoke token ${t.name}? Whatever uses it is refused from then on.`}
                      aria-label={`Revoke token ${t.name}`}
                    >
                      Revoke
                    </button>
                  </form>
                ) : (
                  "—"
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

async function tokensPage(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  extra: { error?: string; status?: number; created?: { name: string; token: string } } = {},
) {
  const [tokens, users, frame] = await Promise.all([
    listTokens(ctx.database),
    listUsers(ctx.database),
    ctx.frame(request),
  ]);
  const owners = new Map(users.map((u) => [u.id, u.username]));
  const known = Object.keys(ctx.config.instruments).sort();
  const newestFirst = [...tokens].reverse();
  return ctx.page(
    reply,
    <AdminPage
      frame={frame}
      path="/admin/tokens"
      title="API tokens"
      notice={extra.created ? null : doneNotice(request)}
      error={extra.error}
    >
      {extra.created ? <SecretOnce {...extra.created} /> : null}
      <p class="help">
        Every token: the ones made here or with <code>autoreduce token create</code> (for scripts, beamline
        computers and monitoring), and people's personal tokens from their account pages (they act as their
        owner). The secret is never shown again after it is made.
      </p>
      {newestFirst.length === 0 ? (
        <p class="muted">No tokens yet.</p>
      ) : (
        <TokenTable
          frame={frame}
          tokens={newestFirst}
          owners={owners}
          revokePath={(t) => `/admin/tokens/${t.id}/revoke`}
        />
      )}
      <h3 id="new">A new token</h3>
      <form method="post" action="/admin/tokens" class="stack card">
        <CsrfField frame={frame} />
        <label for="token-name">Name</label>
        <input
          id="token-name"
          name="name"
          required
          maxLength={100}
          placeholder="mari-beamline-pc"
          autocomplete="off"
        />
        <span class="help">Who holds it; recorded as who made each change. Letters, digits and _ . @ -</span>
        <label for="token-role">Role</label>
        <select id="token-role" name="role">
          <option value="read">read: reads everything, changes nothing</option>
          <option value="scientist">scientist: changes the instruments chosen below</option>
          <option value="admin">admin: changes everything</option>
        </select>
        {known.length ? (
          <>
            <label for="token-instruments">
              Instruments <span class="help">(scientist tokens; Ctrl or ⌘ to choose several)</span>
            </label>
            <select id="token-instruments" name="instruments" multiple size={Math.min(6, known.length)}>
              {known.map((i) => (
                <option key={i} value={i}>
                  {i}
                </option>
              ))}
            </select>
          </>
        ) : null}
        <label for="token-expires">
          Expires after (days) <span class="help">(empty: never)</span>
        </label>
        <input id="token-expires" name="expires_days" type="number" min={1} max={3650} />
        <button type="submit">Create token</button>
      </form>
    </AdminPage>,
    extra.status,
  );
}

/** `/admin/tokens`: every API token; make one (the secret shown once) or revoke one. */
export function registerAdminTokens(app: FastifyInstance, ctx: WebContext): void {
  app.get("/admin/tokens", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    return tokensPage(ctx, request, reply);
  });

  app.post("/admin/tokens", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const body = NewToken.safeParse(request.body);
    if (!body.success)
      return tokensPage(ctx, request, reply, {
        error:
          "Give a name, a role (read, scientist or admin) and, if it should expire, a number of days (1–3650).",
        status: 400,
      });
    const { name, role, instruments, expires_days } = body.data;
    try {
      const { token, record } = await createToken(ctx.database, {
        name,
        role,
        instruments: role === "scientist" ? instruments : [],
        expiresAt: typeof expires_days === "number" ? Date.now() + expires_days * DAY_MS : null,
        createdBy: request.viewer.name,
      });
      ctx.log.info(
        { by: request.viewer.name, token: record.name, role: record.role },
        "web: API token created",
      );
      return tokensPage(ctx, request, reply, { created: { name: record.name, token } });
    } catch (e) {
      if (e instanceof TokenRefused)
        return tokensPage(ctx, request, reply, { error: e.message, status: 422 });
      throw e;
    }
  });

  app.post("/admin/tokens/:id/revoke", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const params = TokenParams.safeParse(request.params);
    const revoked = params.success ? await revokeToken(ctx.database, String(params.data.id)) : null;
    if (!revoked)
      return tokensPage(ctx, request, reply, {
        error: "No such token, or it is revoked already.",
        status: 404,
      });
    ctx.log.info({ by: request.viewer.name, token: revoked.name }, "web: API token revoked");
    return reply.redirect(doneUrl("/admin/tokens", "token-revoked"), 303);
  });
}
