import { Command } from "commander";
import { failureExit } from "./failure-exit.ts";

type Loader = () => Promise<Command[]>;

// Each command's module is loaded only when that command runs, so a worker or a quick `runs`
// does not load the web server, the NeXus reader or the coordinator.
const instrument: Loader = async () => (await import("./instrument-commands.ts")).instrumentCommands();
const daemons: Loader = async () => (await import("./daemon-commands.ts")).daemonCommands();
const LOADERS: Record<string, Loader> = {
  serve: async () => [(await import("./serve-command.ts")).serveCommand()],
  submit: async () => [(await import("./submit-command.ts")).submitCommand()],
  runs: async () => [(await import("./runs-command.ts")).runsCommand()],
  jobs: async () => [(await import("./jobs-command.ts")).jobsCommand()],
  status: async () => [(await import("./status-command.ts")).statusCommand()],
  rerun: async () => [(await import("./rerun-command.ts")).rerunCommand()],
  vars: async () => [(await import("./vars-command.ts")).varsCommand()],
  route: async () => [(await import("./route-command.ts")).routeCommand()],
  token: async () => [(await import("./token-command.ts")).tokenCommand()],
  user: async () => [(await import("./user-command.ts")).userCommand()],
  catalog: async () => [(await import("./catalog-command.ts")).catalogCommand()],
  dlq: async () => [(await import("./dlq-command.ts")).dlqCommand()],
  instrument,
  cancel: instrument,
  "create-script": instrument,
  coordinator: daemons,
  worker: daemons,
  listener: daemons,
  web: daemons,
};

/** The CLI with the command named in `argv` (or every command, for help and unknown names). */
export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command("autoreduce")
    .description(
      "Automated data reduction for beamline facilities: finished runs are detected, reduced by the\n" +
        "instrument's script and recorded. Start with `autoreduce serve --demo`.",
    )
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const named = LOADERS[argv[2] ?? ""];
  const loaders = named ? [named] : [...new Set(Object.values(LOADERS))];
  for (const load of loaders) for (const command of await load()) program.addCommand(command);
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
    await (await buildProgram(argv)).parseAsync(argv);
    return 0;
  } catch (e) {
    const exit = failureExit(e);
    if (exit.text !== null) process.stderr.write(`${exit.text}\n`);
    return exit.code;
  }
}
