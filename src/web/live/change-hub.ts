import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config/load-config.ts";
import type { Logger } from "../../logging/logger.ts";
import type { ChangeEvent, JobChangeEvent } from "../../messages/change-event.ts";
import { subscribeChanges } from "../../service/change-subscriber.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import type { Subscription, Transport } from "../../transport/transport.ts";
import { canAdminister, canReadRun, type Viewer } from "../auth/viewer.ts";
import { startEventStream } from "./event-stream.ts";

/** What one browser asked to follow; every event is also checked against its viewer's permissions. */
export interface LiveFilter {
  instrument?: string | undefined;
  run?: number | undefined;
  experiment?: string | undefined;
  /** Daemon changes too (admin page). */
  daemons?: boolean | undefined;
}

interface Client {
  viewer: Viewer;
  filter: LiveFilter;
  reply: FastifyReply;
}

/** How long a run's experiment stays cached (runs do not change experiment). */
const EXPERIMENT_CACHE_SIZE = 10_000;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 20_000;

/**
 * Server-sent events for the pages: one subscription to the change feed per web process, fanned
 * out to every connected browser whose viewer may see the change (checked here, per event, with
 * the same rules as the pages). A gap in the feed, or a reconnect, sends `resync`: the page then
 * re-reads what it shows.
 */
export class ChangeHub {
  private readonly clients = new Set<Client>();
  private readonly experiments = new Map<string, string>();
  private subscription: Subscription | null = null;
  private keepalive: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: { config: Config; database: SqlDatabase; transport: Transport; log: Logger },
  ) {}

  async start(): Promise<void> {
    this.subscription = await subscribeChanges(
      this.deps.transport,
      this.deps.config,
      (e) => this.publish(e),
      {
        log: this.deps.log,
        onGap: () => this.broadcastRaw("resync", "{}"),
      },
    );
    this.keepalive = setInterval(() => {
      for (const c of this.clients) c.reply.raw.write(": keepalive\n\n");
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  async stop(): Promise<void> {
    if (this.keepalive) clearInterval(this.keepalive);
    await this.subscription?.unsubscribe();
    for (const c of this.clients) c.reply.raw.end();
    this.clients.clear();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over the response and streams events to it until the browser goes away. */
  open(request: FastifyRequest, reply: FastifyReply, filter: LiveFilter): void {
    startEventStream(reply);
    const client: Client = { viewer: request.viewer, filter, reply };
    this.clients.add(client);
    request.raw.on("close", () => this.clients.delete(client));
  }

  /** Hands one change to every client that follows it and may see it. */
  async publish(event: ChangeEvent): Promise<void> {
    if (this.clients.size === 0) return;
    if (event.subject === "daemon") {
      const data = JSON.stringify(event);
      for (const c of this.clients) if (c.filter.daemons && canAdminister(c.viewer)) write(c, "daemon", data);
      return;
    }
    const experiment = await this.experimentOf(event);
    const data = JSON.stringify({ ...event, experiment });
    for (const c of this.clients) {
      const f = c.filter;
      if (f.instrument && f.instrument.toUpperCase() !== event.instrument) continue;
      if (f.run !== undefined && f.run !== event.run_number) continue;
      if (f.experiment && f.experiment !== experiment) continue;
      if (
        !event.instrument ||
        !canReadRun(c.viewer, { instrument: event.instrument, experiment: experiment ?? "" })
      )
        continue;
      write(c, "job", data);
    }
  }

  private broadcastRaw(event: string, data: string): void {
    for (const c of this.clients) write(c, event, data);
  }

  private async experimentOf(event: JobChangeEvent): Promise<string | null> {
    if (!event.instrument || event.run_number === undefined) return null;
    const key = `${event.instrument}/${event.run_number}`;
    const cached = this.experiments.get(key);
    if (cached !== undefined) return cached;
    const row = await this.deps.database.db
      .selectFrom("runs")
      .innerJoin("instruments", "instruments.id", "runs.instrument_id")
      .innerJoin("experiments", "experiments.id", "runs.experiment_id")
      .select("experiments.reference")
      .where("instruments.name", "=", event.instrument)
      .where("runs.run_number", "=", event.run_number)
      .executeTakeFirst();
    if (!row) return null;
    if (this.experiments.size >= EXPERIMENT_CACHE_SIZE) this.experiments.clear();
    this.experiments.set(key, row.reference);
    return row.reference;
  }
}

function write(client: Client, event: string, data: string): void {
  client.reply.raw.write(`event: ${event}\ndata: ${data}\n\n`);
}
