import type { Config } from "../config/load-config.ts";
import { deadLetterDestination } from "../messages/destinations.ts";
import type { Transport } from "./transport.ts";

/** Messages waiting on each work queue, its dead-letter queue and the error queue. */
export async function queueDepths(transport: Transport, config: Config): Promise<Record<string, number>> {
  const q = config.queues;
  const queues = [
    q.data_ready,
    q.reduction_data_ready,
    q.reduction_started,
    q.reduction_complete,
    q.reduction_error,
    q.reduction_disabled,
  ];
  const all = [...queues, ...queues.map(deadLetterDestination), q.postprocess_error];
  const depths: Record<string, number> = {};
  for (const destination of all) depths[destination] = await transport.depth(destination);
  return depths;
}
