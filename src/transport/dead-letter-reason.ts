import { RefusedError } from "../failures/refused-error.ts";

/**
 * Whether a message whose handler failed goes to its dead-letter queue now, and with what reason;
 * null: it is delivered again (after the retry delay). A refusal (RefusedError: the input is bad)
 * goes at once, since the same input is refused again; any other failure goes after
 * `maxDeliveries` deliveries. Pure; both queue consumers (embedded and STOMP) decide with it.
 */
export function deadLetterReason(error: unknown, deliveries: number, maxDeliveries: number): string | null {
  if (error instanceof RefusedError) return `refused: ${oneLine(error.reason)}`;
  if (deliveries >= maxDeliveries) return `failed ${deliveries} deliveries; last error: ${oneLine(error)}`;
  return null;
}

/** An error as one header-friendly line, not endless. */
function oneLine(error: unknown): string {
  const line = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").trim();
  return line.length > 500 ? `${line.slice(0, 500)}...` : line;
}
