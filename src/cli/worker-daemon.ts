import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../config/config-error.ts";
import { SNS_OUTPUT_DIR } from "../config/instrument-settings.ts";
import { type Config, configFromObject, loadConfig } from "../config/load-config.ts";
import {
  formatPostProcessingConf,
  mergePostProcessingConf,
  type PostProcessingConf,
  readPostProcessingConf,
} from "../config/post-processing-conf.ts";
import { chooseLauncher } from "../executors/launcher-choice.ts";
import { createLogger } from "../logging/logger.ts";
import { normalizeDestination } from "../messages/destinations.ts";
import { partDeclaration } from "../service/part-registry.ts";
import { NO_RESTARTS } from "../service/restart-policy.ts";
import { describeTransport, openTransport } from "../transport/open-transport.ts";
import { WorkerSettings } from "../worker/worker-settings.ts";
import { runParts } from "./part-runner.ts";

export interface WorkerOptions {
  config?: string;
  postProcessingConf?: string;
  queue?: string[];
  showConfig?: boolean;
}

/**
 * The worker's config: autoreduce.yaml (optional when an SNS agent file is given), the SNS
 * agent's post_processing.conf over it, and `--queue` over both.
 */
export function workerConfig(options: WorkerOptions): { config: Config; sns: PostProcessingConf | null } {
  const sns = options.postProcessingConf ? readSnsFile(options.postProcessingConf) : null;
  const adjust = (raw: Record<string, unknown>) => {
    const merged = sns ? withSnsBrokers(mergePostProcessingConf(raw, sns), sns) : raw;
    if (!options.queue?.length) return merged;
    const worker = (merged.worker ?? {}) as Record<string, unknown>;
    return { ...merged, worker: { ...worker, queues: options.queue.map(normalizeDestination) } };
  };
  if (options.config || !sns)
    return { config: loadConfig(options.config ?? "autoreduce.yaml", process.env, adjust), sns };
  return { config: configFromObject(adjust({}), sns.source), sns };
}

/** The SNS file's brokers replace the transport of autoreduce.yaml: that is where SNS's jobs come from. */
function withSnsBrokers(raw: Record<string, unknown>, sns: PostProcessingConf): Record<string, unknown> {
  const broker = sns.broker;
  if (!broker || broker.brokers.length === 0) return raw;
  const transport = (raw.transport ?? {}) as Record<string, unknown>;
  const stomp = (transport.stomp ?? {}) as Record<string, unknown>;
  return {
    ...raw,
    transport: {
      ...transport,
      kind: "stomp",
      stomp: {
        ...stomp,
        brokers: broker.brokers.map(([host, port]) => `${host}:${port}`),
        ...(broker.user !== null ? { user: broker.user } : {}),
        ...(broker.password !== null ? { password: broker.password } : {}),
      },
    },
  };
}

function readSnsFile(path: string): PostProcessingConf {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(file, [`cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`]);
  }
  return readPostProcessingConf(text, file);
}

/** What the worker will do, in words: pools, limits, policy, and the SNS keys used or ignored. */
export function describeWorker(config: Config, sns: PostProcessingConf | null): string[] {
  const settings = new WorkerSettings(config);
  const w = config.worker;
  return [
    ...(sns ? formatPostProcessingConf(sns) : []),
    `transport: ${describeTransport(config)}`,
    `queues: ${settings.queues.join(", ")}`,
    `slots: ${w.max_procs} (per instrument: ${w.jobs_per_instrument || "no limit"}, one per experiment: ${w.one_per_experiment}, held beyond slots: ${settings.hold})`,
    `limits: memory ${w.memory_limit ?? "none"}, time ${minutes(w.time_limit_minutes)}, stall ${minutes(w.stall_minutes)}, checked every ${w.check_interval_seconds} s`,
    `success: ${w.success}${w.exceptions.length ? ` (allow-list: ${w.exceptions.length} patterns)` : ""}`,
    `retries: ${w.retry.attempts} attempts, ${w.retry.initial_seconds} s doubling to ${w.retry.max_seconds} s`,
    `scripts: ${join(config.scripts.root, config.scripts.folder, config.scripts.file)} with ${config.scripts.interpreter}`,
    `output: ${join(config.output.root, config.output.dir ?? SNS_OUTPUT_DIR)}`,
    `archive roots: ${config.archive.roots.join(", ")}`,
    `launcher (starts local scripts): ${chooseLauncher().description}`,
  ];
}

export async function runWorker(options: WorkerOptions): Promise<void> {
  const { config, sns } = workerConfig(options);
  if (options.showConfig) {
    process.stdout.write(`${describeWorker(config, sns).join("\n")}\n`);
    return;
  }
  const log = createLogger(config.log_level, "worker", { file: config.log_file });
  for (const line of describeWorker(config, sns)) log.info(line);
  // A worker needs only the transport: in a facility a worker node has no database access.
  const { transport, close } = await openTransport(config, log);
  const host = {
    config,
    log,
    transport,
    database: null,
    close: async () => {
      await close();
      log.flush();
    },
  };
  // Beats go on while running reductions finish, so a draining worker does not look dead.
  await runParts([partDeclaration("worker")], host, { policy: NO_RESTARTS, say: (text) => log.info(text) });
}

/** A limit in minutes as shown by `--show-config`: "none" when unset. */
function minutes(value: number | null | undefined): string {
  return value === null || value === undefined ? "none" : `${value} min`;
}
