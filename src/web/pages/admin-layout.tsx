import type { FastifyReply, FastifyRequest } from "fastify";
import type { ComponentChildren } from "preact";
import { z } from "zod";
import { canAdminister } from "../auth/viewer.ts";
import { Layout, type PageFrame } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";

/** The admin page's sections, in tab order. */
export const ADMIN_TABS = [
  ["/admin", "Overview"],
  ["/admin/jobs", "Jobs"],
  ["/admin/daemons", "Daemons"],
  ["/admin/queues", "Queues"],
  ["/admin/messages", "Dead letters"],
  ["/admin/people", "People"],
  ["/admin/tokens", "API tokens"],
  ["/admin/site", "Site banner"],
] as const;

export type AdminPath = (typeof ADMIN_TABS)[number][0];

/**
 * What a finished action says on the page it redirects to (`?done=CODE&n=N`). Only these fixed
 * texts (and a number) can appear: a link someone sends an operator cannot put words on the page.
 */
const DONE: Record<string, (n: number) => string> = {
  hidden: (n) => `${n} failure${n === 1 ? "" : "s"} hidden: listed under “hidden failures” from now on.`,
  unhidden: (n) => `${n} failure${n === 1 ? "" : "s"} shown again in the list of failures.`,
  reinjected: () => "The message was sent back to its queue and removed from the dead-letter queue.",
  "reinjected-gone": () =>
    "The message was sent back to its queue (it had already left the dead-letter queue meanwhile).",
  discarded: () => "The message was removed for good.",
  "discard-gone": () => "Nothing was removed: the message had already left its queue.",
  "admin-on": () => "The person is an administrator now.",
  "admin-off": () => "The person is no longer an administrator.",
  disabled: () => "The account is disabled: its sessions ended, and its tokens no longer work.",
  enabled: () => "The account is enabled again.",
  granted: () => "The person is a scientist of that instrument now.",
  revoked: () => "The person is no longer a scientist of that instrument.",
  "token-revoked": () => "The token is revoked: it is refused from now on.",
  "banner-set": () => "The banner is saved; every page shows it within a few seconds.",
  "banner-cleared": () => "The banner is removed; pages stop showing it within a few seconds.",
  "password-changed": () =>
    "Your password is changed. Other browsers you were signed in with are signed out.",
  "preferences-saved": () => "Your notification preferences are saved.",
};

const DoneQuery = z.object({
  done: z.string().max(40).optional(),
  n: z.coerce.number().int().nonnegative().max(1_000_000).optional(),
});

/** The notice of a finished action from the query string, or null. */
export function doneNotice(request: FastifyRequest): string | null {
  const q = DoneQuery.safeParse(request.query);
  if (!q.success || !q.data.done) return null;
  return DONE[q.data.done]?.(q.data.n ?? 0) ?? null;
}

/** The URL to redirect to after an action, with its notice. */
export function doneUrl(path: string, done: keyof typeof DONE, n?: number): string {
  const sep = path.includes("?") ? "&" : "?";
  return `${path}${sep}done=${done}${n === undefined ? "" : `&n=${n}`}`;
}

/**
 * Answers the request (401/403) unless its viewer is an administrator; true when allowed. Every
 * admin route, fragment and action starts with this.
 */
export async function requireAdmin(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  if (canAdminister(request.viewer)) return true;
  await ctx.deny(request, reply, "the admin page");
  return false;
}

/** The frame of every admin section: title, tabs, the notice of the last action. */
export function AdminPage({
  frame,
  path,
  title,
  notice,
  error,
  live,
  children,
}: {
  frame: PageFrame;
  path: AdminPath;
  title: string;
  notice?: string | null;
  error?: string | null;
  live?: boolean;
  children: ComponentChildren;
}) {
  return (
    <Layout frame={frame} title={`Admin: ${title}`} live={live ? "/api/v1/events?daemons=1" : undefined} wide>
      <h1>Admin</h1>
      <nav class="tabs" aria-label="Admin sections">
        {ADMIN_TABS.map(([href, label]) => (
          <a key={href} href={href} aria-current={href === path ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <h2>{title}</h2>
      {children}
      {live ? <script src="/static/admin.js" defer /> : null}
    </Layout>
  );
}

/** A form field that may be sent once or repeated (checkboxes): always an array. */
export const Repeated = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(item));

/** The first line of a text, cut to `width` characters. */
export function firstLine(text: string | null | undefined, width: number): string {
  const line = (text ?? "").split("\n", 1)[0] ?? "";
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/**
 * The line of a failure message that says most, cut to `width`: the last line of a Python
 * traceback (the exception), else the first line.
 */
export function reasonLine(text: string | null | undefined, width: number): string {
  const lines = (text ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines[0]?.startsWith("Traceback") ? (lines.at(-1) ?? "") : (lines[0] ?? "");
  return firstLine(line, width);
}
