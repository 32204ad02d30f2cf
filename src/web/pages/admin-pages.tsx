import type { FastifyInstance } from "fastify";
import { QueueSampler } from "../live/queue-sampler.ts";
import type { WebContext } from "../web-context.ts";
import { registerAdminDaemons } from "./admin-daemons.tsx";
import { registerAdminJobs } from "./admin-jobs.tsx";
import { registerAdminMessages } from "./admin-messages.tsx";
import { registerAdminOverview } from "./admin-overview.tsx";
import { registerAdminPeople } from "./admin-people.tsx";
import { registerAdminQueues } from "./admin-queues.tsx";
import { registerAdminSite } from "./admin-site.tsx";
import { registerAdminTokens } from "./admin-tokens.tsx";

/**
 * The admin page (`/admin` and its sections), for administrators only, and the queue depth
 * sampler behind its 24-hour charts: started once the app is ready, stopped when it closes.
 */
export function registerAdmin(app: FastifyInstance, ctx: WebContext): void {
  registerAdminOverview(app, ctx);
  registerAdminJobs(app, ctx);
  registerAdminDaemons(app, ctx);
  registerAdminQueues(app, ctx);
  registerAdminMessages(app, ctx);
  registerAdminPeople(app, ctx);
  registerAdminTokens(app, ctx);
  registerAdminSite(app, ctx);
  const sampler = new QueueSampler(ctx);
  app.addHook("onReady", async () => sampler.start());
  app.addHook("onClose", async () => sampler.stop());
}
