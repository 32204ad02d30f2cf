import { Command, Option } from "commander";
import { listRuns, type RunView } from "../store/run-views.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { formatTable } from "./table.ts";

export function runsCommand(): Command {
  return new Command("runs")
    .description("list runs with the status of their latest reduction (newest first)")
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .option("--instrument <name>", "only this instrument")
    .option("--all-versions", "every reduction version, not only the latest of each run")
    .addOption(new Option("--limit <n>", "at most this many rows").default("200").argParser(positiveInt))
    .option(
      "--json",
      "print a JSON array (fields: instrument, run_number, experiment, status, version, data_file, output_dir, ...)",
    )
    .action(
      async (options: {
        config?: string;
        instrument?: string;
        allVersions?: boolean;
        limit: string | number;
        json?: boolean;
      }) => {
        const c = await connect(configFromOption(options.config), "runs", "warn");
        try {
          const runs = await listRuns(c.database, {
            instrument: options.instrument,
            allVersions: options.allVersions,
            limit: Number(options.limit),
          });
          process.stdout.write(options.json ? `${JSON.stringify(runs, null, 2)}\n` : `${runsTable(runs)}\n`);
        } finally {
          await c.close();
        }
      },
    );
}

export function runsTable(runs: RunView[]): string {
  if (runs.length === 0) return "no runs yet";
  return formatTable(
    ["INSTRUMENT", "RUN", "EXPERIMENT", "VERSION", "STATUS", "DURATION", "OUTPUT / MESSAGE"],
    runs.map((r) => [
      r.instrument,
      String(r.run_number),
      r.experiment,
      String(r.version),
      r.status,
      r.duration_seconds === null ? "-" : `${r.duration_seconds.toFixed(1)} s`,
      r.status === "completed" ? (r.output_dir ?? "") : ((r.message ?? "").split("\n")[0] ?? ""),
    ]),
  );
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive whole number, got ${value}`);
  return n;
}
