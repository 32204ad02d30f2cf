import { Command } from "commander";
import type { Config } from "../config/load-config.ts";
import { Coordinator } from "../coordinator/coordinator.ts";
import { ArchiveListener } from "../listener/archive-listener.ts";
import { createLogger } from "../logging/logger.ts";
import { openTransport } from "../transport/open-transport.ts";
import { ReductionWorker } from "../worker/reduction-worker.ts";
import { type Connections, configFromOption, connect } from "./cli-context.ts";
import { runUntilSignal } from "./part-runner.ts";

/** A command that runs one part with the database and the transport until a signal. */
function partWithDatabase(
  name: string,
  description: string,
  start: (c: Connections) => Promise<{ stop(): Promise<void> }>,
) {
  return new Command(name)
    .description(description)
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .action(async (options: { config?: string }) => {
      const c = await connect(configFromOption(options.config), name);
      const part = await start(c);
      await runUntilSignal(
        [
          { name: "database", stop: () => c.close() },
          { name, stop: () => part.stop() },
        ],
        c.log,
      );
    });
}

async function runWorker(config: Config): Promise<void> {
  const log = createLogger(config.log_level, "worker");
  const { transport, close } = await openTransport(config, log);
  const part = await ReductionWorker.start({ config, transport, log });
  await runUntilSignal(
    [
      { name: "transport", stop: close },
      { name: "worker", stop: () => part.stop() },
    ],
    log,
  );
}

/** `autoreduce coordinator|worker|listener`: one part per process, for split deployments. */
export function daemonCommands(): Command[] {
  return [
    partWithDatabase(
      "coordinator",
      "run the coordinator: records runs and reductions, sends jobs to workers (needs the database)",
      (c) => Coordinator.start(c),
    ),
    new Command("worker")
      .description(
        "run a worker: takes reduction jobs from its queue and runs the instruments' scripts (needs only the transport)",
      )
      .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
      .action(async (options: { config?: string }) => runWorker(configFromOption(options.config))),
    partWithDatabase(
      "listener",
      "run the archive listener: announces complete run files (needs the database and the transport)",
      (c) => ArchiveListener.start(c),
    ),
  ];
}
