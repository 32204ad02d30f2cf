import { Command } from "commander";
import { collect } from "./assignments.ts";
import { type Connections, configFromOption, connect } from "./cli-context.ts";
import { type RunningPart, runUntilSignal } from "./part-runner.ts";

/**
 * A command that runs one part with the database and the transport until a signal. `start` returns
 * the part's pieces; they are stopped in reverse order, and the database after them all.
 */
function partWithDatabase(
  name: string,
  description: string,
  start: () => Promise<(c: Connections) => Promise<RunningPart[]>>,
) {
  return new Command(name)
    .description(description)
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .action(async (options: { config?: string }) => {
      const c = await connect(configFromOption(options.config), name);
      const parts = await (await start())(c);
      await runUntilSignal([{ name: "database", stop: () => c.close() }, ...parts], c.log);
    });
}

/** `autoreduce coordinator|worker|listener|web`: one part per process, for split deployments. */
export function daemonCommands(): Command[] {
  // Each part's code is loaded only by its own command: a worker never loads the coordinator.
  return [
    partWithDatabase(
      "coordinator",
      "run the coordinator: records runs and reductions, sends jobs to workers (needs the database)",
      async () => (await import("./daemon-parts.ts")).startCoordinator,
    ),
    new Command("worker")
      .description(
        "run a worker: takes reduction jobs from its queues and runs the instruments' scripts (needs only the transport)",
      )
      .option(
        "--config <file>",
        "configuration file (default ./autoreduce.yaml; optional with --post-processing-conf)",
      )
      .option(
        "--post-processing-conf <file>",
        "read the SNS post-processing agent's JSON config (e.g. /etc/autoreduce/post_processing.conf) over autoreduce.yaml",
      )
      .option(
        "--queue <queue>",
        "take jobs from this queue (repeatable; overrides worker.queues)",
        collect,
        [],
      )
      .option(
        "--show-config",
        "print what the worker would do (queues, limits, SNS keys used and ignored) and exit",
      )
      .action(
        async (options: {
          config?: string;
          postProcessingConf?: string;
          queue: string[];
          showConfig?: boolean;
        }) => (await import("./worker-daemon.ts")).runWorker(options),
      ),
    partWithDatabase(
      "web",
      "serve the JSON API on api.host:api.port (needs the database and the transport; set AUTOREDUCE_API_TOKEN to allow changes)",
      async () => (await import("./daemon-parts.ts")).startWeb,
    ),
    partWithDatabase(
      "listener",
      "run the archive listener: announces complete run files (needs the database and the transport)",
      async () => (await import("./daemon-parts.ts")).startListener,
    ),
  ];
}
