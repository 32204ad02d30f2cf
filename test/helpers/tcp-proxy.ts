import { connect, createServer, type Socket } from "node:net";

/**
 * A TCP forwarder on a loopback port to `target`, for tests that cut a client's connection while
 * both ends stay up: `cut()` drops every connection made so far (both sides, as a failed switch
 * would); new connections are forwarded again at once.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private accepted = 0;
  private readonly server = createServer((client) => this.forward(client));

  private constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on `port` (default: any free one) of 127.0.0.1. */
  static async start(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once("error", reject);
      proxy.server.listen(port, "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (!address || typeof address === "string") throw new Error("the proxy is not listening");
    return address.port;
  }

  get url(): string {
    return `stomp://127.0.0.1:${this.port}`;
  }

  /** How many connections the proxy has accepted so far. */
  get connections(): number {
    return this.accepted;
  }

  /** Drops every open connection, both the client's and the broker's side. */
  cut(): void {
    for (const socket of [...this.sockets]) socket.destroy();
  }

  /**
   * Stops forwarding on every open connection without closing it, as a frozen host or a pulled
   * cable would: only a heart-beat can tell. New connections are forwarded as usual.
   */
  freeze(): void {
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** Stops listening and drops what is open. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: Socket): void {
    this.accepted++;
    const upstream = connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on("close", () => {
        this.sockets.delete(socket);
        // One side gone: the other goes too, as a real connection would.
        client.destroy();
        upstream.destroy();
      });
      socket.on("error", () => socket.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
