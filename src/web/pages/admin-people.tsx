import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { instrumentSettings } from "../../config/instrument-settings.ts";
import { membershipCounts } from "../../store/admin-store.ts";
import {
  createUser,
  grantInstrument,
  instrumentRoles,
  listUsers,
  revokeInstrument,
  setAdmin,
  setDisabled,
  type UserRecord,
  UserRefused,
  userById,
} from "../../store/user-store.ts";
import { hashPassword } from "../auth/passwords.ts";
import { formatAge, formatTime } from "../views/format.ts";
import { CsrfField, type PageFrame } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";
import { AdminPage, doneNotice, doneUrl, requireAdmin } from "./admin-layout.tsx";

const UserParams = z.object({ id: z.coerce.number().int().positive() });
const Flag = z.object({ value: z.enum(["0", "1"]) });
const InstrumentBody = z.object({
  instrument: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_]+$/, "an instrument name: letters, digits, _"),
  action: z.enum(["grant", "revoke"]),
});
const NewUser = z.object({
  username: z.string().trim().min(1).max(100),
  display_name: z.string().trim().max(200).optional(),
  email: z.union([z.literal(""), z.string().trim().email().max(200)]).optional(),
  admin: z.literal("1").optional(),
});

/** A generated password: 15 random bytes (120 bits), 20 characters, shown once. */
export const generatedPassword = () => randomBytes(15).toString("base64url");

function PersonRow({
  frame,
  user,
  instruments,
  members,
  self,
  known,
}: {
  frame: PageFrame;
  user: UserRecord;
  instruments: string[];
  members: number;
  self: boolean;
  known: string[];
}) {
  const action = (path: string) => `/admin/people/${user.id}/${path}`;
  return (
    <tr class={user.disabled_at !== null ? "disabled" : undefined}>
      <th scope="row">
        {user.username}
        {self ? <span class="muted"> (you)</span> : null}
        {user.display_name ? <div class="muted">{user.display_name}</div> : null}
      </th>
      <td>{user.provider}</td>
      <td>
        {user.admin ? <strong>administrator</strong> : null}
        {instruments.length ? (
          <ul class="plain">
            {instruments.map((i) => (
              <li key={i}>
                scientist of {i}{" "}
                <form method="post" action={action("instruments")} class="inline">
                  <CsrfField frame={frame} />
                  <input type="hidden" name="instrument" value={i} />
                  <button
                    type="submit"
                    name="action"
                    value="revoke"
                    class="link"
                    aria-label={`revoke ${user.username}'s role on ${i}`}
                  >
                    revoke
                  </button>
                </form>
              </li>
            ))}
          </ul>
        ) : null}
        {members ? (
          <div>
            member of {members} experiment{members === 1 ? "" : "s"}
          </div>
        ) : null}
        {!user.admin && instruments.length === 0 && !members ? <span class="muted">none</span> : null}
      </td>
      <td title={formatTime(user.last_login_at)}>{formatAge(user.last_login_at)}</td>
      <td>{user.disabled_at !== null ? <span class="status status-error">disabled</span> : "active"}</td>
      <td>
        <div class="actions">
          {known.length === 0 ? null : (
            <form method="post" action={action("instruments")} class="inline">
              <CsrfField frame={frame} />
              <input type="hidden" name="action" value="grant" />
              <label for={`grant-${user.id}`} class="visually-hidden">
                Instrument for {user.username}
              </label>
              <select id={`grant-${user.id}`} name="instrument">
                {known.map((i) => (
                  <option key={i} value={i}>
                    {i}
                  </option>
                ))}
              </select>{" "}
              <button type="submit" class="secondary">
                Make scientist
              </button>
            </form>
          )}{" "}
          {self ? null : (
            <>
              <form method="post" action={action("admin")} class="inline">
                <CsrfField frame={frame} />
                <input type="hidden" name="value" value={user.admin ? "0" : "1"} />
                <button
                  type="submit"
                  class="secondary"
                  data-confirm={
                    user.admin ? undefined : `Make ${user.username} an administrator of everything?`
                  }
                >
                  {user.admin ? "Remove admin" : "Make admin"}
                </button>
              </form>{" "}
              <form method="post" action={action("disabled")} class="inline">
                <CsrfField frame={frame} />
                <input type="hidden" name="value" value={user.disabled_at === null ? "1" : "0"} />
                <button
                  type="submit"
                  class={user.disabled_at === null ? "danger" : "secondary"}
                  data-confirm={
                    user.disabled_at === null
                      ? `Disable ${user.username}? Their sessions end and their tokens stop working.`
                      : undefined
                  }
                >
                  {user.disabled_at === null ? "Disable" : "Enable"}
                </button>
              </form>
            </>
          )}
        </div>
      </td>
    </tr>
  );
}

async function peoplePage(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  extra: { error?: string; status?: number; created?: { username: string; password: string } } = {},
) {
  const [users, roles, members, frame] = await Promise.all([
    listUsers(ctx.database),
    instrumentRoles(ctx.database),
    membershipCounts(ctx.database),
    ctx.frame(request),
  ]);
  const known = Object.keys(ctx.config.instruments).sort();
  return ctx.page(
    reply,
    <AdminPage
      frame={frame}
      path="/admin/people"
      title="People and roles"
      notice={extra.created ? null : doneNotice(request)}
      error={extra.error}
    >
      {extra.created ? (
        <div class="notice secret-box" role="status">
          <p>
            Account <strong>{extra.created.username}</strong> is made. Its password, shown this once only (it
            is stored hashed):
          </p>
          <p>
            <code class="secret">{extra.created.password}</code>
          </p>
          <p>Give it to the person by a safe way; they can change it on their account page.</p>
        </div>
      ) : null}
      <p class="help">
        Administrators change everything. An instrument's scientists read and change everything of it
        (variables, pause, batch re-runs). Experimenters are members of experiments (from the catalog) and
        read and re-run their runs. Disabling an account ends its sessions and stops its tokens; nothing of it
        is deleted.
      </p>
      <table class="rowheads">
        <thead>
          <tr>
            <th scope="col">Person</th>
            <th scope="col">Signs in with</th>
            <th scope="col">Roles</th>
            <th scope="col">Last sign-in</th>
            <th scope="col">Account</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <PersonRow
              key={user.id}
              frame={frame}
              user={user}
              instruments={roles.get(user.id) ?? []}
              members={members.get(user.username) ?? 0}
              self={user.id === request.viewer.userId}
              known={known}
            />
          ))}
        </tbody>
      </table>
      <h3 id="new">A new local account</h3>
      {ctx.config.web.local_login ? (
        <form method="post" action="/admin/people" class="stack card">
          <CsrfField frame={frame} />
          <label for="new-username">Username</label>
          <input id="new-username" name="username" required maxLength={100} autocomplete="off" />
          <label for="new-display-name">
            Full name <span class="help">(optional)</span>
          </label>
          <input id="new-display-name" name="display_name" maxLength={200} />
          <label for="new-email">
            Email <span class="help">(optional)</span>
          </label>
          <input id="new-email" name="email" type="email" maxLength={200} />
          <label class="check">
            <input type="checkbox" name="admin" value="1" /> Administrator
          </label>
          <p class="help">A password is made for the account and shown once, on the next page.</p>
          <button type="submit">Create account</button>
        </form>
      ) : (
        <p class="muted">
          Local accounts are switched off (<code>web.local_login: false</code>): people sign in through LDAP
          or OpenID Connect, and appear here after their first sign-in.
        </p>
      )}
    </AdminPage>,
    extra.status,
  );
}

/** `/admin/people`: users and their roles; make or unmake admin and scientist, disable, create local accounts. */
export function registerAdminPeople(app: FastifyInstance, ctx: WebContext): void {
  const { database } = ctx;
  const by = (request: FastifyRequest) => request.viewer.name ?? "admin";

  /** The user a route names, or the page saying why not (404; 422 when an admin would lock themself out). */
  const target = async (
    request: FastifyRequest,
    reply: FastifyReply,
    notSelf: string | null,
  ): Promise<UserRecord | null> => {
    const params = UserParams.safeParse(request.params);
    const user = params.success ? await userById(database, params.data.id) : null;
    if (!user) {
      await peoplePage(ctx, request, reply, { error: "No such person (were they removed?).", status: 404 });
      return null;
    }
    if (notSelf && user.id === request.viewer.userId) {
      await peoplePage(ctx, request, reply, { error: notSelf, status: 422 });
      return null;
    }
    return user;
  };

  app.get("/admin/people", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    return peoplePage(ctx, request, reply);
  });

  app.post("/admin/people", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    if (!ctx.config.web.local_login)
      return peoplePage(ctx, request, reply, { error: "Local accounts are switched off.", status: 422 });
    const body = NewUser.safeParse(request.body);
    if (!body.success)
      return peoplePage(ctx, request, reply, {
        error: "Give a user name (letters, digits, _ . @ -), and a valid email address or none.",
        status: 400,
      });
    const password = generatedPassword();
    try {
      const user = await createUser(database, {
        username: body.data.username,
        provider: "local",
        passwordHash: await hashPassword(password),
        admin: body.data.admin === "1",
        displayName: body.data.display_name || null,
        email: body.data.email || null,
      });
      ctx.log.info(
        { by: by(request), username: user.username, admin: user.admin },
        "web: local account created",
      );
      return peoplePage(ctx, request, reply, { created: { username: user.username, password } });
    } catch (e) {
      if (e instanceof UserRefused) return peoplePage(ctx, request, reply, { error: e.message, status: 422 });
      throw e;
    }
  });

  app.post("/admin/people/:id/admin", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const body = Flag.safeParse(request.body);
    const user = await target(
      request,
      reply,
      "You cannot change your own administrator role: ask another administrator.",
    );
    if (!user) return reply;
    if (!body.success) return peoplePage(ctx, request, reply, { error: "value must be 0 or 1", status: 400 });
    await setAdmin(database, user.id, body.data.value === "1");
    ctx.log.info(
      { by: by(request), username: user.username, admin: body.data.value === "1" },
      "web: admin role changed",
    );
    return reply.redirect(doneUrl("/admin/people", body.data.value === "1" ? "admin-on" : "admin-off"), 303);
  });

  app.post("/admin/people/:id/disabled", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const body = Flag.safeParse(request.body);
    const user = await target(request, reply, "You cannot disable your own account.");
    if (!user) return reply;
    if (!body.success) return peoplePage(ctx, request, reply, { error: "value must be 0 or 1", status: 400 });
    await setDisabled(database, user.id, body.data.value === "1");
    ctx.log.info(
      { by: by(request), username: user.username, disabled: body.data.value === "1" },
      "web: account disabled or enabled",
    );
    return reply.redirect(doneUrl("/admin/people", body.data.value === "1" ? "disabled" : "enabled"), 303);
  });

  app.post("/admin/people/:id/instruments", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const user = await target(request, reply, null);
    if (!user) return reply;
    const body = InstrumentBody.safeParse(request.body);
    if (!body.success)
      return peoplePage(ctx, request, reply, {
        error: "Choose an instrument (letters, digits, _).",
        status: 400,
      });
    const instrument = body.data.instrument.toUpperCase();
    if (body.data.action === "revoke") {
      await revokeInstrument(database, user.id, instrument);
    } else {
      if (!instrumentSettings(ctx.config, instrument))
        return peoplePage(ctx, request, reply, {
          error: `There is no instrument ${instrument} in this configuration.`,
          status: 422,
        });
      await grantInstrument(database, user.id, instrument, by(request));
    }
    ctx.log.info(
      { by: by(request), username: user.username, instrument, action: body.data.action },
      "web: instrument role changed",
    );
    return reply.redirect(
      doneUrl("/admin/people", body.data.action === "grant" ? "granted" : "revoked"),
      303,
    );
  });
}
