import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/config-error.ts";
import { OperationRefused } from "../coordinator/operations.ts";
import { DatabaseUnavailableError } from "../store/state-database.ts";
import { CommandFailed } from "./command-failed.ts";
import { daemonCommands } from "./daemon-commands.ts";
import { instrumentCommands } from "./instrument-commands.ts";
import { rerunCommand } from "./rerun-command.ts";
import { runsCommand } from "./runs-command.ts";
import { serveCommand } from "./serve-command.ts";
import { statusCommand } from "./status-command.ts";
import { submitCommand } from "./submit-command.ts";
import { varsCommand } from "./vars-command.ts";

export function buildProgram(): Command {
  const program = new Command("autoreduce")
    .description(
      "Automated data reduction for beamline facilities: finished runs are detected, reduced by the\n" +
        "instrument's script and recorded. Start with `autoreduce serve --demo`.",
    )
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const command of [
    serveCommand(),
    submitCommand(),
    runsCommand(),
    statusCommand(),
    rerunCommand(),
    varsCommand(),
    ...instrumentCommands(),
    ...daemonCommands(),
  ]) {
    program.addCommand(command);
  }
  // Usage errors anywhere (also in sub-sub-commands) must reach main() to become exit code 2.
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Runs the CLI; returns the exit code (0 success, 1 failure, 2 bad usage or configuration). */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0)
        return 0;
      return 2;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`autoreduce: ${e.message}\n`);
      return 2;
    }
    if (
      e instanceof CommandFailed ||
      e instanceof OperationRefused ||
      e instanceof DatabaseUnavailableError
    ) {
      process.stderr.write(`autoreduce: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`autoreduce: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}
