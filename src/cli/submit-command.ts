import { resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { acceptDataReady } from "../coordinator/data-ready-intake.ts";
import { type DataReadyFields, DataReadySchema } from "../messages/data-ready.ts";
import { messageBody } from "../messages/message-body.ts";
import { InvalidMessageError } from "../messages/message-error.ts";
import { pathComponentProblem } from "../messages/path-component.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";

export function submitCommand(): Command {
  return new Command("submit")
    .description(
      "announce a run by hand: sends a POSTPROCESS.DATA_READY and prints it.\n" +
        "Instrument, experiment and run are read from the path when not given.",
    )
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .requiredOption("--file <path>", "the run's raw data file")
    .option("--instrument <name>", "instrument (upper case)", pathComponentArgument)
    .option("--run <number>", "run number", runNumberArgument)
    .option("--experiment <id>", "experiment, e.g. IPTS-1234", pathComponentArgument)
    .action(
      async (options: {
        config?: string;
        file: string;
        instrument?: string;
        run?: string;
        experiment?: string;
      }) => {
        const config = configFromOption(options.config);
        const file = resolve(options.file);
        const startedBy = `submit:${process.env.USER ?? "unknown"}`;
        let fromPath: Record<string, unknown> = {};
        try {
          fromPath = { ...acceptDataReady(file, config) };
        } catch {
          // the path does not tell everything; the options must
        }
        const fields = {
          facility: config.instruments[options.instrument?.toUpperCase() ?? ""]?.facility ?? config.facility,
          ...fromPath,
          ...(options.instrument ? { instrument: options.instrument.toUpperCase() } : {}),
          ...(options.run ? { run_number: options.run } : {}),
          ...(options.experiment ? { ipts: options.experiment } : {}),
          data_file: file,
          started_by: startedBy,
        };
        let out: DataReadyFields;
        try {
          const { content_key: _key, ...accepted } = acceptDataReady(JSON.stringify(fields), config);
          out = accepted;
        } catch (e) {
          if (e instanceof InvalidMessageError) throw new CommandFailed(`not sent: ${e.reason}`);
          throw e;
        }
        const c = await connect(config, "submit", "warn");
        try {
          await c.transport.send(config.queues.data_ready, { body: messageBody(DataReadySchema, out) });
        } finally {
          await c.close();
        }
        process.stdout.write(`sent to ${config.queues.data_ready}:\n${JSON.stringify(out, null, 2)}\n`);
      },
    );
}

/** Names that become folders are refused on the command line (bad usage, exit 2), naming the option. */
function pathComponentArgument(value: string): string {
  const problem = pathComponentProblem(value);
  if (problem) throw new InvalidArgumentError(`it ${problem}.`);
  return value;
}

function runNumberArgument(value: string): string {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("a run number is a whole number (digits only).");
  return value;
}
