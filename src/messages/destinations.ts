/**
 * Destination names. A destination is `/queue/NAME` (point-to-point, persistent work) or
 * `/topic/NAME` (fan-out, not persistent). The defaults are the names the SNS workflow manager
 * and post-processing agent use, so that our parts and theirs can talk message for message.
 */
export interface Destinations {
  /** A finished run is ready for post-processing (listener/DAQ → coordinator). */
  dataReady: string;
  /** Messages that could not be accepted, with the reason and the original body. */
  postprocessError: string;
  /** A reduction job for a worker (coordinator → worker). */
  reductionDataReady: string;
  /** Worker reports (worker → coordinator). */
  reductionStarted: string;
  reductionComplete: string;
  reductionError: string;
  reductionDisabled: string;
  /** Heartbeats of our daemons. */
  heartbeat: string;
}

export const DEFAULT_DESTINATIONS: Destinations = {
  dataReady: "/queue/POSTPROCESS.DATA_READY",
  postprocessError: "/queue/POSTPROCESS.ERROR",
  reductionDataReady: "/queue/REDUCTION.DATA_READY",
  reductionStarted: "/queue/REDUCTION.STARTED",
  reductionComplete: "/queue/REDUCTION.COMPLETE",
  reductionError: "/queue/REDUCTION.ERROR",
  reductionDisabled: "/queue/REDUCTION.DISABLED",
  heartbeat: "/topic/SNS.COMMON.STATUS.AUTOREDUCE.0",
};

export type DestinationKind = "queue" | "topic";

/** Parses `/queue/X`, `/topic/X` or a bare `X` (a queue, as in SNS configs). */
export function parseDestination(destination: string): { kind: DestinationKind; name: string } {
  if (destination.startsWith("/topic/")) return { kind: "topic", name: destination.slice(7) };
  if (destination.startsWith("/queue/")) return { kind: "queue", name: destination.slice(7) };
  return { kind: "queue", name: destination };
}

/** The canonical `/queue/X` or `/topic/X` spelling of a destination. */
export function normalizeDestination(destination: string): string {
  const { kind, name } = parseDestination(destination);
  return `/${kind}/${name}`;
}

/** Where a message goes after it could not be delivered `maxDeliveries` times. */
export function deadLetterDestination(destination: string): string {
  const { name } = parseDestination(destination);
  return `/queue/DLQ.${name}`;
}
