import type {
  MessageHandler,
  OutgoingMessage,
  QueuedMessage,
  SubscribeOptions,
  Subscription,
  Transport,
} from "./transport.ts";

/** What opening the real transport gives: the transport and how to release it. */
export interface OpenedTransport {
  transport: Transport;
  close: () => Promise<void>;
}

/**
 * A transport that opens the real one on its first use. A CLI command that only reads the
 * database (`runs`, `jobs`, `vars show`) then never connects to the broker, so it neither waits
 * for a STOMP connection it does not need nor leaves a warning when closing it; a command that
 * sends opens it when it sends. Closing one that was never used does nothing.
 */
export class LazyTransport implements Transport {
  private opened: Promise<OpenedTransport> | null = null;
  private closed = false;

  constructor(private readonly open: () => Promise<OpenedTransport>) {}

  /** Whether the real transport was asked for (a test and `close` need to know). */
  get isOpen(): boolean {
    return this.opened !== null;
  }

  async send(destination: string, message: OutgoingMessage): Promise<string> {
    return (await this.real()).send(destination, message);
  }

  async subscribe(
    destination: string,
    handler: MessageHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    return (await this.real()).subscribe(destination, handler, options);
  }

  async depth(destination: string): Promise<number> {
    return (await this.real()).depth(destination);
  }

  async browse(destination: string, limit: number): Promise<QueuedMessage[]> {
    return (await this.real()).browse(destination, limit);
  }

  async take(destination: string, id: string): Promise<QueuedMessage | null> {
    return (await this.real()).take(destination, id);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.opened) return;
    // An open that failed has nothing to release; its error was thrown to the caller that used it.
    const opened = await this.opened.catch(() => null);
    await opened?.close();
  }

  private async real(): Promise<Transport> {
    if (this.closed) throw new Error("the transport is closed");
    this.opened ??= this.open();
    return (await this.opened).transport;
  }
}
