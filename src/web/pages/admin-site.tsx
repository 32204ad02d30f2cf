import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { setSiteSetting, siteSetting } from "../../store/admin-store.ts";
import { formatTime } from "../views/format.ts";
import { CsrfField } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";
import { AdminPage, doneNotice, doneUrl, requireAdmin } from "./admin-layout.tsx";

/** The longest banner (one or two lines across the top of every page). */
export const BANNER_MAX = 500;

const BannerBody = z.object({
  banner: z.string().max(BANNER_MAX).optional(),
  action: z.enum(["save", "clear"]),
});

/** `/admin/site`: the banner every page shows (maintenance, an outage), set and cleared here. */
export function registerAdminSite(app: FastifyInstance, ctx: WebContext): void {
  const show = async (request: FastifyRequest, reply: FastifyReply, error?: string, status?: number) => {
    const frame = await ctx.frame(request);
    const current = await siteSetting(ctx.database, "banner");
    return ctx.page(
      reply,
      <AdminPage
        frame={frame}
        path="/admin/site"
        title="Site banner"
        notice={doneNotice(request)}
        error={error}
      >
        <p class="help">
          A short line shown at the top of every page, to everyone (signed in or not): planned maintenance, a
          broken instrument, an outage. Plain text; at most {BANNER_MAX} characters.
        </p>
        {current ? (
          <p>
            Shown now, set by {current.updated_by ?? "?"} at {formatTime(current.updated_at)}.
          </p>
        ) : (
          <p class="muted">No banner is shown now.</p>
        )}
        <form method="post" action="/admin/site/banner" class="stack card">
          <CsrfField frame={frame} />
          <label for="banner">Banner text</label>
          <textarea id="banner" name="banner" rows={3} maxLength={BANNER_MAX}>
            {current?.value ?? ""}
          </textarea>
          <p class="actions">
            <button type="submit" name="action" value="save">
              Save banner
            </button>{" "}
            <button type="submit" name="action" value="clear" class="secondary">
              Remove banner
            </button>
          </p>
        </form>
      </AdminPage>,
      status,
    );
  };

  app.get("/admin/site", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    return show(request, reply);
  });

  app.post("/admin/site/banner", async (request, reply) => {
    if (!(await requireAdmin(ctx, request, reply))) return reply;
    const body = BannerBody.safeParse(request.body);
    if (!body.success)
      return show(request, reply, `The banner may have at most ${BANNER_MAX} characters.`, 400);
    const text =
      body.data.action === "clear" ? null : (body.data.banner ?? "").replace(/\s+/g, " ").trim() || null;
    await setSiteSetting(ctx.database, "banner", text, request.viewer.name ?? "admin");
    ctx.log.info({ by: request.viewer.name, banner: text }, "web: site banner changed");
    return reply.redirect(doneUrl("/admin/site", text ? "banner-set" : "banner-cleared"), 303);
  });
}
