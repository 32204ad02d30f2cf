import type { Logger } from "../logging/logger.ts";

/** Something `serve` or a daemon command runs until asked to stop. */
export interface RunningPart {
  name: string;
  stop(): Promise<void>;
}

/**
 * Waits for SIGINT or SIGTERM, then stops the parts in reverse order of starting (the listener
 * and workers before the coordinator and the database). A second signal forces exit.
 */
export async function runUntilSignal(
  parts: RunningPart[],
  log: Logger,
  onStopping?: () => void,
): Promise<void> {
  // Signal listeners do not keep Node running, and the parts' timers are unref'd: hold it open.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  clearInterval(keepAlive);
  onStopping?.();
  log.info({ signal }, "stopping");
  const force = () => {
    log.warn("second signal: exiting at once");
    process.exit(130);
  };
  process.once("SIGINT", force);
  process.once("SIGTERM", force);
  for (const part of [...parts].reverse()) {
    try {
      await part.stop();
    } catch (e) {
      log.error({ err: e, part: part.name }, "error while stopping");
    }
  }
}
