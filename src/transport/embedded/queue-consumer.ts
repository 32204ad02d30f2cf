import { deadLetterReason } from "../dead-letter-reason.ts";
import type { IncomingMessage, MessageHandler } from "../transport.ts";
import { CoalescedRunner } from "./coalesced-runner.ts";
import type { ClaimedRow, QueueStatements } from "./queue-statements.ts";

export interface QueueConsumerOptions {
  destination: string;
  owner: string;
  prefetch: number;
  leaseMs: number;
  maxDeliveries: number;
  deadLetterTo: string;
  retryDelayMs: (deliveryCount: number) => number;
  onError: (error: unknown, context: string) => void;
}

/**
 * Claims messages of one queue while it has free slots, runs the handler for each, keeps the
 * lease alive while the handler runs, and acknowledges or releases by the handler's outcome.
 */
export class QueueConsumer {
  private running = new Set<Promise<void>>();
  private stopped = false;
  private readonly looker = new CoalescedRunner(
    () => this.fill(),
    (e) => this.options.onError(e, `claiming from ${this.options.destination}`),
  );

  constructor(
    private readonly statements: QueueStatements,
    private readonly handler: MessageHandler,
    private readonly options: QueueConsumerOptions,
  ) {}

  get active(): number {
    return this.running.size;
  }

  /** Looks for work now; cheap to call often (calls while a look is under way are coalesced). */
  pump(): void {
    this.looker.request();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.looker.stop();
    await Promise.allSettled([...this.running]);
  }

  private async fill(): Promise<void> {
    const { destination, owner, leaseMs, prefetch } = this.options;
    while (!this.stopped && this.running.size < prefetch) {
      const row = await this.statements.claim(destination, owner, leaseMs);
      if (!row) return;
      if (row.deliveries > this.options.maxDeliveries) {
        const reason = `not acknowledged after ${this.options.maxDeliveries} deliveries`;
        await this.statements.deadLetter(
          row,
          owner,
          this.options.destination,
          this.options.deadLetterTo,
          reason,
        );
        continue;
      }
      const job = this.handle(row).finally(() => {
        this.running.delete(job);
        this.pump();
      });
      this.running.add(job);
    }
  }

  private async handle(row: ClaimedRow): Promise<void> {
    const { owner, leaseMs } = this.options;
    const message: IncomingMessage = {
      id: row.message_id,
      destination: this.options.destination,
      body: row.body,
      headers: JSON.parse(row.headers) as Record<string, string>,
      deliveryCount: row.deliveries,
    };
    const renewal = setInterval(() => {
      this.statements.renew(row.id, owner, leaseMs).catch((e) => this.options.onError(e, "renewing a lease"));
    }, leaseMs / 3);
    try {
      await this.handler(message);
      clearInterval(renewal);
      await this.settle(() => this.statements.ack(row.id, owner), "acknowledging");
    } catch (e) {
      clearInterval(renewal);
      this.options.onError(e, `handling message ${row.message_id} from ${this.options.destination}`);
      const { destination, deadLetterTo, maxDeliveries } = this.options;
      const reason = deadLetterReason(e, row.deliveries, maxDeliveries);
      if (reason !== null) {
        // At once and with the error, as over STOMP: an operator reading the dead letter needs the why.
        await this.settle(
          () => this.statements.deadLetter(row, owner, destination, deadLetterTo, reason),
          "dead-lettering",
        );
        return;
      }
      const delay = this.options.retryDelayMs(row.deliveries);
      await this.settle(() => this.statements.release(row.id, owner, delay), "releasing");
    }
  }

  /** Retries a settle statement through brief database outages; the lease covers us meanwhile. */
  private async settle(op: () => Promise<unknown>, what: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await op();
        return;
      } catch (e) {
        if (attempt >= 5) {
          this.options.onError(e, `${what} a message (it will be delivered again when its lease expires)`);
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }
}
