import { Command } from "commander";
import { type PartDeclaration, partDeclaration } from "../service/part-registry.ts";
import { NO_RESTARTS } from "../service/restart-policy.ts";
import { collect } from "./assignments.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { runParts } from "./part-runner.ts";

/**
 * `autoreduce <part>` for a part that needs the database and the transport: runs it alone until a
 * signal. A part that fails exits 1 at once: its service manager restarts the process.
 */
function partCommand(part: PartDeclaration): Command {
  return new Command(part.name)
    .description(part.description)
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .action(async (options: { config?: string }) => {
      const c = await connect(configFromOption(options.config), part.name, undefined, "now");
      await runParts([part], c, { policy: NO_RESTARTS, say: (text) => c.log.info(text) });
    });
}

/** `autoreduce coordinator|worker|web|listener`: one part per process, for split deployments. */
export function daemonCommands(): Command[] {
  const worker = partDeclaration("worker");
  return [
    partCommand(partDeclaration("coordinator")),
    new Command(worker.name)
      .description(worker.description)
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
    partCommand(partDeclaration("web")),
    partCommand(partDeclaration("listener")),
  ];
}
