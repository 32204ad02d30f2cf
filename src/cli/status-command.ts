import { Command } from "commander";
import { listRuns, statusCounts } from "../store/run-views.ts";
import { queueDepths } from "../transport/queue-depths.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { formatTable } from "./table.ts";

export function statusCommand(): Command {
  return new Command("status")
    .description("show queue depths, reductions by status and what is running now")
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .option("--json", "print JSON")
    .action(async (options: { config?: string; json?: boolean }) => {
      const c = await connect(configFromOption(options.config), "status", "warn");
      try {
        const [queues, counts, running] = await Promise.all([
          queueDepths(c.transport, c.config),
          statusCounts(c.database),
          listRuns(c.database, { status: "running", allVersions: true }),
        ]);
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ queues, reductions: counts, running }, null, 2)}\n`);
          return;
        }
        const out = [
          "Queues (messages waiting):",
          formatTable(
            ["QUEUE", "WAITING"],
            Object.entries(queues)
              .filter(([name, n]) => n > 0 || !name.includes("DLQ."))
              .map(([name, n]) => [name, String(n)]),
          ),
          "",
          "Reductions by status:",
          Object.keys(counts).length
            ? formatTable(
                ["STATUS", "COUNT"],
                Object.entries(counts).map(([s, n]) => [s, String(n)]),
              )
            : "none yet",
          "",
          "Running now:",
          running.length
            ? formatTable(
                ["INSTRUMENT", "RUN", "VERSION", "HOST", "SINCE"],
                running.map((r) => [
                  r.instrument,
                  String(r.run_number),
                  String(r.version),
                  r.host ?? "-",
                  r.started_at ?? "-",
                ]),
              )
            : "nothing",
        ];
        process.stdout.write(`${out.join("\n")}\n`);
      } finally {
        await c.close();
      }
    });
}
