import { Command, InvalidArgumentError, Option } from "commander";
import { OperationRefused, requestRerun } from "../coordinator/operations.ts";
import type { ReductionRequest } from "../messages/reduction-request.ts";
import { parseRunRanges, RunRangeError } from "../scripts/run-ranges.ts";
import { collect, parseAssignments } from "./assignments.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";

interface RerunOptions {
  config?: string;
  var: string[];
  currentScript?: boolean;
  dryRun?: boolean;
  role: "user" | "staff" | "admin";
  description?: string;
  fromVersion?: number;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`expected a version number (0, 1, 2, …), got ${value}`);
  return n;
}

export function rerunCommand(): Command {
  return new Command("rerun")
    .description(
      "re-run reductions as new versions: with the script text stored with the latest version\n" +
        "(or --current-script), its variables, and any changed with --var. Runs: '1000-1010,1020'.",
    )
    .argument("<instrument>", "instrument")
    .argument("<runs>", "run numbers and ranges, e.g. 1000-1010,1020")
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .option(
      "--var <name=value>",
      "change a variable (repeatable); the value is checked against the script's type",
      collect,
      [],
    )
    .option("--current-script", "run the script file as it is now, not the stored text")
    .addOption(
      new Option(
        "--from-version <n>",
        "start from this version's stored script and variables instead of the latest's",
      ).argParser(nonNegativeInt),
    )
    .option("--dry-run", "only show what would be queued and what would not, and why")
    .addOption(
      new Option("--role <role>", "whose limit applies").choices(["user", "staff", "admin"]).default("admin"),
    )
    .option("--description <text>", "why (shown with the new versions)")
    .action(async (instrument: string, runs: string, options: RerunOptions) =>
      rerun(instrument, runs, options),
    );
}

async function rerun(instrument: string, runText: string, options: RerunOptions): Promise<void> {
  const config = configFromOption(options.config);
  let runNumbers: number[];
  try {
    runNumbers = parseRunRanges(runText, { maxCount: config.rerun_caps[options.role] });
  } catch (e) {
    if (e instanceof RunRangeError) throw new CommandFailed(`not sent: ${e.message}`);
    throw e;
  }
  const request: ReductionRequest = {
    instrument: instrument.toUpperCase(),
    run_numbers: runNumbers,
    current_script: options.currentScript ?? false,
    ...(options.fromVersion !== undefined ? { from_version: options.fromVersion } : {}),
    variables: parseAssignments(options.var),
    started_by: process.env.USER ?? "unknown",
    role: options.role,
    ...(options.description ? { description: options.description } : {}),
  };
  const c = await connect(config, "rerun", "warn");
  try {
    const preview = await requestRerun(c, request, options.dryRun ?? false).catch((e: unknown) => {
      throw e instanceof OperationRefused ? new CommandFailed(`not sent: ${e.message}`) : e;
    });
    const lines = [
      `${options.dryRun ? "would queue" : "queued"} ${preview.queue.length} run(s): ${preview.queue.join(", ") || "none"}`,
      ...preview.refused.map((r) => `  not ${r.run_number}: ${r.reason}`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    if (preview.queue.length === 0) throw new CommandFailed("nothing to re-run");
  } finally {
    await c.close();
  }
}
