import type { FastifyReply } from "fastify";

/**
 * Takes over a response as a server-sent event stream: the headers (no caching, no proxy
 * buffering) and the browser's reconnect delay. The caller then writes events to `reply.raw`.
 */
export function startEventStream(reply: FastifyReply): void {
  reply.hijack();
  reply.raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  reply.raw.write("retry: 3000\n\n");
}
