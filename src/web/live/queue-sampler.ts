import type { Config } from "../../config/load-config.ts";
import type { Logger } from "../../logging/logger.ts";
import { latestQueueSample, pruneQueueDepths, recordQueueDepths } from "../../store/admin-store.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import { queueDepths } from "../../transport/queue-depths.ts";
import type { Transport } from "../../transport/transport.ts";

/** How often queue depths are sampled by default (the admin page's 24-hour charts). */
export const SAMPLE_EVERY_MS = 60_000;
/** Samples are kept this long (twice the chart's window), then deleted. */
export const KEEP_SAMPLES_MS = 48 * 3_600_000;

export interface QueueSamplerOptions {
  config: Config;
  database: SqlDatabase;
  transport: Transport;
  log: Logger;
  /** Between samples. Default {@link SAMPLE_EVERY_MS}. */
  everyMs?: number;
  /** Samples older than this are deleted at each sample. Default {@link KEEP_SAMPLES_MS}. */
  keepMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * Samples the depth of every queue (`queueDepths`: the work queues, dead-letter queues and the
 * error queue) into `queue_depth_samples`, and deletes samples older than two days. Runs in each
 * web process; a sample is skipped when another process took one within half the interval, so
 * several web processes do not multiply the rows. A failure (broker or database away) is logged
 * and the next tick tries again; it never stops the web process.
 */
export class QueueSampler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly everyMs: number;
  private readonly keepMs: number;
  private readonly now: () => number;

  constructor(private readonly options: QueueSamplerOptions) {
    this.everyMs = options.everyMs ?? SAMPLE_EVERY_MS;
    this.keepMs = options.keepMs ?? KEEP_SAMPLES_MS;
    this.now = options.now ?? Date.now;
  }

  /** Takes a first sample now, then one every interval. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.everyMs);
    this.timer.unref();
    this.tick();
  }

  /** Stops sampling and waits for a sample under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    if (this.running) return; // the last one is still going (a slow broker): skip this one
    this.running = this.sample()
      .then(() => undefined)
      .catch((e: unknown) => this.options.log.warn({ err: e }, "web: queue depth sample failed"))
      .finally(() => {
        this.running = null;
      });
  }

  /**
   * Takes one sample (unless another process took one within half the interval) and prunes old
   * ones; returns how many queue depths were written.
   */
  async sample(): Promise<number> {
    const { database, transport, config } = this.options;
    const now = this.now();
    const latest = await latestQueueSample(database);
    let written = 0;
    if (latest === null || latest <= now - this.everyMs / 2) {
      written = await recordQueueDepths(database, await queueDepths(transport, config), now);
    }
    await pruneQueueDepths(database, now - this.keepMs);
    return written;
  }
}
