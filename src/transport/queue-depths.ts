import type { Config } from "../config/load-config.ts";
import { isRetryable } from "../failures/infrastructure-error.ts";
import { normalizeDestination } from "../messages/destinations.ts";
import { deadLetterQueues } from "./dead-letters.ts";
import type { Transport } from "./transport.ts";

/**
 * Messages waiting on each main work queue, every dead-letter queue and the error queue. Null where the
 * broker cannot tell (RabbitMQ over STOMP; ActiveMQ without its statistics plugin).
 */
export async function queueDepths(
  transport: Transport,
  config: Config,
): Promise<Record<string, number | null>> {
  const q = config.queues;
  const queues = [
    q.data_ready,
    q.reduction_data_ready,
    q.reduction_started,
    q.reduction_complete,
    q.reduction_error,
    q.reduction_disabled,
  ];
  const all = [...new Set([...queues.map(normalizeDestination), ...deadLetterQueues(config)])];
  const depths: Record<string, number | null> = {};
  for (const destination of all) {
    depths[destination] = await transport.depth(destination).catch((e) => {
      // Unknown for now (no statistics, the connection lost): shown as such; anything else is a bug.
      if (isRetryable(e)) return null;
      throw e;
    });
  }
  return depths;
}
