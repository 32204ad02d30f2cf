import type { FastifyReply } from "fastify";
import type { VNode } from "preact";
import { render } from "preact-render-to-string";

/**
 * Sends a server-rendered page. Preact escapes every string it renders, so text that came from
 * runs, scripts, logs or people (titles, variable values, log lines) is inert; nothing here
 * inserts raw HTML.
 */
export function sendPage(reply: FastifyReply, page: VNode, status = 200): FastifyReply {
  return reply
    .code(status)
    .header("cache-control", "no-store")
    .type("text/html; charset=utf-8")
    .send(`<!doctype html>\n${render(page)}`);
}

/** Sends a fragment (htmx swaps it into the page). */
export function sendFragment(reply: FastifyReply, fragment: VNode, status = 200): FastifyReply {
  return reply
    .code(status)
    .header("cache-control", "no-store")
    .type("text/html; charset=utf-8")
    .send(render(fragment));
}
