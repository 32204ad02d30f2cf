import { Command } from "commander";
import { instrumentSettings } from "../config/instrument-settings.ts";
import { cancelRun } from "../coordinator/operations.ts";
import { CreateScriptSchema, quotePlus } from "../messages/create-script.ts";
import { messageBody } from "../messages/message-body.ts";
import { setPaused } from "../store/reduction-store.ts";
import { collect, parseAssignments } from "./assignments.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";
import { positiveInt } from "./runs-command.ts";

const who = () => process.env.USER ?? "unknown";

/** `instrument pause|resume`, `cancel`, `create-script`. */
export function instrumentCommands(): Command[] {
  const instrument = new Command("instrument").description(
    "pause or resume automatic reduction of an instrument",
  );
  for (const [name, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    instrument
      .command(name)
      .description(
        paused ? "new runs are recorded as skipped (re-run them later)" : "new runs are reduced again",
      )
      .argument("<instrument>")
      .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
      .action(async (inst: string, o: { config?: string }) => {
        const config = configFromOption(o.config);
        if (!instrumentSettings(config, inst.toUpperCase()))
          throw new CommandFailed(`unknown instrument ${inst}`);
        const c = await connect(config, "instrument", "warn");
        try {
          if (!(await setPaused(c.database, inst, paused))) {
            throw new CommandFailed(
              `${inst.toUpperCase()} has no runs yet; it can be paused once it has one`,
            );
          }
          process.stdout.write(`${inst.toUpperCase()} ${paused ? "paused" : "resumed"}\n`);
        } finally {
          await c.close();
        }
      });
  }

  const cancel = new Command("cancel")
    .description(
      "cancel the latest version of a run if it is queued or running (a running script is stopped)",
    )
    .argument("<instrument>")
    .argument("<run>", "run number", positiveInt)
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .action(async (inst: string, run: number, o: { config?: string }) => {
      const c = await connect(configFromOption(o.config), "cancel", "warn");
      try {
        const version = await cancelRun(c, inst, run, who());
        process.stdout.write(`cancelled ${inst.toUpperCase()} ${run} version ${version}\n`);
      } finally {
        await c.close();
      }
    });

  const createScript = new Command("create-script")
    .description(
      "write reduce_<INST>.py from reduce_<INST>.py.template with the given values (or restore the default)",
    )
    .argument("<instrument>")
    .argument("[assignments...]", "name=value for each placeholder ($name or {name} after $) in the template")
    .option("--default", "restore reduce_<INST>_default.py instead")
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .option("--var <name=value>", "another way to give a value (repeatable)", collect, [])
    .action(
      async (
        inst: string,
        assignments: string[],
        o: { config?: string; default?: boolean; var: string[] },
      ) => {
        const c = await connect(configFromOption(o.config), "create-script", "warn");
        try {
          const values = parseAssignments([...assignments, ...o.var]);
          const encoded = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, quotePlus(v)]));
          const body = {
            instrument: inst.toUpperCase(),
            use_default: o.default ?? false,
            template_data: encoded,
            information: `Requested by ${who()}`,
          };
          await c.transport.send(c.config.queues.create_script, {
            body: messageBody(CreateScriptSchema, body),
          });
          process.stdout.write(
            `sent to ${c.config.queues.create_script}; a worker writes the script and reports on ${c.config.queues.service_status.replaceAll("{instrument}", inst.toUpperCase())}\n`,
          );
        } finally {
          await c.close();
        }
      },
    );

  return [instrument, cancel, createScript];
}
