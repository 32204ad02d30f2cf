/**
 * The broker behind the STOMP connection. STOMP leaves delayed delivery, prefetch and queue
 * statistics to each broker's own headers, so the adapter must know which broker it talks to.
 */
export type Flavour = "activemq" | "rabbitmq";

/**
 * The flavour to use on a connection: the configured one, or (`auto`) the one the CONNECTED
 * frame's `server` header names (`ActiveMQ/5.17.2`, `RabbitMQ/3.10.8`; Artemis says
 * `ActiveMQ-Artemis/...` and takes ActiveMQ's headers). An unknown server is treated as ActiveMQ,
 * whose headers other brokers ignore, and `note` says so for the log.
 */
export function resolveFlavour(
  configured: "auto" | Flavour,
  server: string | undefined,
): { flavour: Flavour; note?: string } {
  if (configured !== "auto") return { flavour: configured };
  if (server && /^rabbitmq\b/i.test(server)) return { flavour: "rabbitmq" };
  if (server && /activemq/i.test(server)) return { flavour: "activemq" };
  return {
    flavour: "activemq",
    note: `unknown broker ${server ? `"${server}"` : "(no server header)"}; using ActiveMQ's headers (set transport.stomp.flavour to choose)`,
  };
}

/** The SUBSCRIBE header that bounds unacknowledged messages per subscription. */
export function prefetchHeaders(flavour: Flavour, prefetch: number): Record<string, string> {
  return flavour === "rabbitmq"
    ? { "prefetch-count": String(prefetch) }
    : { "activemq.prefetchSize": String(prefetch) };
}
