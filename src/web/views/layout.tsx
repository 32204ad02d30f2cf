import type { ComponentChildren } from "preact";
import { CSRF_FIELD } from "../auth/request-viewer.ts";
import type { Viewer } from "../auth/viewer.ts";

/** What every page's frame needs: who is looking, the site banner, the page's title. */
export interface PageFrame {
  viewer: Viewer;
  /** The admin's site banner (null: none). */
  banner: string | null;
  /** The pre-session CSRF value for anonymous forms (login); signed-in forms use the session's. */
  preSessionCsrf?: string | null;
}

/** The hidden CSRF field every form carries (the session's token, or the pre-session one). */
export function CsrfField({ frame }: { frame: PageFrame }) {
  const value = frame.viewer.csrfToken ?? frame.preSessionCsrf ?? "";
  return <input type="hidden" name={CSRF_FIELD} value={value} />;
}

/** A job status as a coloured word; `data-status` lets live updates restyle it. */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`status status-${status}`} data-status={status}>
      {status}
    </span>
  );
}

/**
 * The page frame: header with navigation, the banner, the content, a footer. No inline script or
 * style anywhere (the CSP forbids them): behaviour comes from /static/app.js and htmx.
 */
export function Layout({
  frame,
  title,
  children,
  live,
  wide,
}: {
  frame: PageFrame;
  title: string;
  children: ComponentChildren;
  /** An SSE stream URL this page listens to (`/api/v1/events?...`); the status badges update live. */
  live?: string;
  wide?: boolean;
}) {
  const v = frame.viewer;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}' />
        {v.csrfToken ? <meta name="csrf-token" content={v.csrfToken} /> : null}
        <title>{`${title} · autoreduce`}</title>
        {/* No icon: without this, browsers ask for /favicon.ico and log its 404. */}
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/static/app.css" />
        <script src="/static/htmx.min.js" defer />
        <script src="/static/app.js" defer />
      </head>
      <body data-live={live}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            autoreduce
          </a>
          <nav aria-label="Main">
            <a href="/">Runs</a>
            <a href="/instruments">Instruments</a>
            {v.admin ? <a href="/admin">Admin</a> : null}
          </nav>
          <div class="who">
            {v.kind === "anonymous" ? (
              <a href="/login">Sign in</a>
            ) : (
              <>
                <a href="/account">{v.name}</a>
                <form method="post" action="/logout" class="inline">
                  <CsrfField frame={frame} />
                  <button type="submit" class="link">
                    Sign out
                  </button>
                </form>
              </>
            )}
          </div>
        </header>
        {frame.banner ? (
          <div class="banner" role="status">
            {frame.banner}
          </div>
        ) : null}
        <main id="main" class={wide ? "wide" : undefined}>
          {children}
        </main>
        <footer>
          <span>Times are UTC.</span>
          {live ? (
            <span class="live-state" data-live-state="connecting">
              live updates: connecting…
            </span>
          ) : null}
        </footer>
      </body>
    </html>
  );
}

/** A page saying why something cannot be shown (404, 403) with what to do. */
export function MessagePage({
  frame,
  title,
  children,
}: {
  frame: PageFrame;
  title: string;
  children: ComponentChildren;
}) {
  return (
    <Layout frame={frame} title={title}>
      <h1>{title}</h1>
      <div class="message">{children}</div>
    </Layout>
  );
}
