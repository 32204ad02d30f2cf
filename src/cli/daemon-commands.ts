import { Command } from "commander";
import { Coordinator } from "../coordinator/coordinator.ts";
import { ArchiveListener } from "../listener/archive-listener.ts";
import { createLogger } from "../logging/logger.ts";
import { openTransport } from "../transport/open-transport.ts";
import { ReductionWorker } from "../worker/reduction-worker.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { runUntilSignal } from "./part-runner.ts";

/** `autoreduce coordinator|worker|listener`: one part per process, for split deployments. */
export function daemonCommands(): Command[] {
  const coordinator = new Command("coordinator")
    .description(
      "run the coordinator: records runs and reductions, sends jobs to workers (needs the database)",
    )
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .action(async (options: { config?: string }) => {
      const c = await connect(configFromOption(options.config), "coordinator");
      const part = await Coordinator.start({
        config: c.config,
        database: c.database,
        transport: c.transport,
        log: c.log,
      });
      await runUntilSignal(
        [
          { name: "database", stop: () => c.close() },
          { name: "coordinator", stop: () => part.stop() },
        ],
        c.log,
      );
    });

  const worker = new Command("worker")
    .description(
      "run a worker: takes reduction jobs from its queue and runs the instruments' scripts (needs only the transport)",
    )
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .action(async (options: { config?: string }) => {
      const config = configFromOption(options.config);
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
    });

  const listener = new Command("listener")
    .description(
      "run the archive listener: announces complete run files (needs the database and the transport)",
    )
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .action(async (options: { config?: string }) => {
      const c = await connect(configFromOption(options.config), "listener");
      const part = await ArchiveListener.start({
        config: c.config,
        database: c.database,
        transport: c.transport,
        log: c.log,
      });
      await runUntilSignal(
        [
          { name: "database", stop: () => c.close() },
          { name: "listener", stop: () => part.stop() },
        ],
        c.log,
      );
    });

  return [coordinator, worker, listener];
}
