import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { packageFile } from "../package-files.ts";

/** The browser's files: our stylesheet and script, and htmx. Read once; served with an ETag. */
const FILES: Record<string, { path: string[]; type: string }> = {
  "app.css": { path: ["src", "web", "static", "app.css"], type: "text/css; charset=utf-8" },
  "app.js": { path: ["src", "web", "static", "app.js"], type: "text/javascript; charset=utf-8" },
  "admin.js": { path: ["src", "web", "static", "admin.js"], type: "text/javascript; charset=utf-8" },
  "run-page.js": { path: ["src", "web", "static", "run-page.js"], type: "text/javascript; charset=utf-8" },
  "runs-index.js": {
    path: ["src", "web", "static", "runs-index.js"],
    type: "text/javascript; charset=utf-8",
  },
  "htmx.min.js": {
    path: ["node_modules", "htmx.org", "dist", "htmx.min.js"],
    type: "text/javascript; charset=utf-8",
  },
};

export function registerStaticFiles(app: FastifyInstance): void {
  const loaded = new Map<string, { body: Buffer; type: string; etag: string }>();
  for (const [name, file] of Object.entries(FILES)) {
    const body = readFileSync(packageFile(...file.path));
    loaded.set(name, {
      body,
      type: file.type,
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"`,
    });
  }
  app.get("/static/:name", async (request, reply) => {
    const file = loaded.get((request.params as { name: string }).name);
    if (!file) return reply.code(404).type("text/plain").send("no such file");
    reply.header("etag", file.etag).header("cache-control", "public, max-age=300");
    if (request.headers["if-none-match"] === file.etag) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  });
}
