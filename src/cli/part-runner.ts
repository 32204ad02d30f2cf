import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { startHeartbeatRecorder } from "../service/heartbeat-recorder.ts";
import type { PartContext, PartDeclaration } from "../service/part-registry.ts";
import type { RestartPolicy } from "../service/restart-policy.ts";
import { errorText, SupervisedPart } from "../service/supervised-part.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import type { Transport } from "../transport/transport.ts";
import { CommandFailed } from "./command-failed.ts";
import { partStart } from "./part-starts.ts";

/** What the process opened for its parts; `close` releases it after they all stopped. */
export interface PartHost {
  config: Config;
  log: Logger;
  transport: Transport;
  database: SqlDatabase | null;
  close(): Promise<void>;
}

export interface RunPartsOptions {
  /** How failed parts are restarted (`NO_RESTARTS` for a one-part command). */
  policy: RestartPolicy;
  say(text: string): void;
  portFallback?: boolean;
  onReductionChange?: PartContext["onReductionChange"];
  /** Called once all parts had their first start (`serve` says it is running). */
  onStarted?: () => void;
  /** Called on the first signal, before the parts stop. */
  onStopping?: () => void;
}

/**
 * Runs parts in this process until SIGINT or SIGTERM, or until one of them is given up: starts
 * them in order (each supervised by `options.policy`), then stops them in reverse order (the
 * listener and workers before the coordinator), then the heartbeat recorder, then `host.close()`.
 * A given-up part makes it throw `CommandFailed` (exit 1) once everything stopped. A second
 * signal forces exit.
 */
export async function runParts(
  parts: readonly PartDeclaration[],
  host: PartHost,
  options: RunPartsOptions,
): Promise<void> {
  const { log } = host;
  // Signal listeners do not keep Node running, and the parts' timers are unref'd: hold it open.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let gaveUp: (reason: string) => void = () => {};
  const givenUp = new Promise<string>((resolve) => {
    gaveUp = resolve;
  });
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  const recorder =
    host.database && parts.some((p) => p.recordsHeartbeats)
      ? await startHeartbeatRecorder({ ...host, database: host.database })
      : null;
  const running: SupervisedPart[] = [];
  let failure: string | null = null;
  try {
    for (const declaration of parts) {
      const part = new SupervisedPart({
        declaration,
        start: partStart(declaration.name),
        context: {
          config: host.config,
          log: host.log,
          transport: host.transport,
          database: host.database,
          say: options.say,
          ...(options.portFallback ? { portFallback: true } : {}),
          ...(options.onReductionChange ? { onReductionChange: options.onReductionChange } : {}),
        },
        policy: options.policy,
        ...(recorder ? { record: recorder.record } : {}),
        onGiveUp: (name, error) => gaveUp(`the ${name} failed: ${errorText(error)}`),
      });
      running.push(part);
      await part.start();
      if (await settled(givenUp)) break;
    }
    if (!(await settled(givenUp))) options.onStarted?.();
    const outcome = await Promise.race([signalled, givenUp.then((reason) => ({ reason }))]);
    if (typeof outcome === "string") {
      options.onStopping?.();
      log.info({ signal: outcome }, "stopping");
    } else {
      failure = outcome.reason;
      log.error({ reason: failure }, "stopping: a part was given up");
    }
    const force = () => {
      log.warn("second signal: exiting at once");
      process.exit(130);
    };
    process.once("SIGINT", force);
    process.once("SIGTERM", force);
  } finally {
    clearInterval(keepAlive);
    for (const part of [...running].reverse()) {
      try {
        await part.stop();
      } catch (e) {
        log.error({ err: e, part: part.name }, "error while stopping");
      }
    }
    await recorder?.stop().catch((e) => log.error({ err: e }, "error while stopping the heartbeat recorder"));
    await host.close();
  }
  if (failure !== null) throw new CommandFailed(failure);
}

/** Whether a promise has settled already (without waiting for it). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol();
  return (await Promise.race([promise, Promise.resolve(pending)])) !== pending;
}
