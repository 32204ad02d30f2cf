import { Command, Option } from "commander";
import { z } from "zod";
import { EXECUTOR_KINDS, isExecutorKind } from "../config/executor-kinds.ts";
import { normalizeDestination } from "../messages/destinations.ts";
import { listRouteRules, removeRouteRule, saveRouteRule } from "../store/routing-store.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";
import { formatTable } from "./table.ts";

const who = () => process.env.USER ?? "unknown";

const regex = (what: string) => (text: string) => {
  try {
    new RegExp(text);
    return text;
  } catch (e) {
    throw new CommandFailed(`--${what} is not a valid regular expression: ${(e as Error).message}`);
  }
};

const AddOptions = z.object({
  config: z.string().optional(),
  queue: z.string().min(1),
  instrument: z.string().optional(),
  title: z.string().optional(),
  sample: z.string().optional(),
  minFileBytes: z.number().int().nonnegative().optional(),
  executor: z
    .string()
    .refine(isExecutorKind, {
      error: (issue) =>
        `--executor ${String(issue.input)} is not an executor (known: ${EXECUTOR_KINDS.join(", ")})`,
    })
    .optional(),
  priority: z.number().int(),
  workers: z
    .enum(["autoreduce", "sns-agent"], {
      error: (issue) => `--workers ${String(issue.input)} is not autoreduce or sns-agent`,
    })
    .optional(),
});

/** `autoreduce route list|add|remove`: routing rules kept in the database. */
export function routeCommand(): Command {
  const route = new Command("route").description(
    "send the jobs of matching runs to another queue (e.g. a high-memory worker pool)",
  );
  route
    .command("list")
    .description("show the routing rules: the database's (by priority), then the config's")
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .option("--json", "print JSON")
    .action(async (o: { config?: string; json?: boolean }) => {
      const c = await connect(configFromOption(o.config), "route", "warn");
      try {
        const stored = (await listRouteRules(c.database)).map((r) => ({ ...r, source: "database" }));
        const rules = [...stored, ...c.config.routing.map((r) => ({ ...r, source: "config" }))];
        if (o.json) {
          process.stdout.write(`${JSON.stringify(rules, null, 2)}\n`);
          return;
        }
        if (!rules.length) {
          process.stdout.write(
            `no routing rules: every job goes to ${c.config.queues.reduction_data_ready}\n`,
          );
          return;
        }
        const rows = rules.map((r) => [
          r.name,
          r.source,
          r.instrument ?? "*",
          [
            r.title ? `title~/${r.title}/` : "",
            r.sample ? `sample~/${r.sample}/` : "",
            r.min_file_bytes != null ? `size>=${r.min_file_bytes}` : "",
          ]
            .filter(Boolean)
            .join(" ") || "(any run)",
          r.queue,
          r.executor ?? "-",
          r.workers ?? "(instrument's)",
        ]);
        process.stdout.write(
          `${formatTable(["NAME", "FROM", "INSTRUMENT", "WHEN", "QUEUE", "EXECUTOR", "WORKERS"], rows)}\n`,
        );
      } finally {
        await c.close();
      }
    });
  route
    .command("add")
    .description("add (or replace, by name) a rule; every condition given must match")
    .argument("<name>")
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .requiredOption("--queue <queue>", "where matching jobs go, e.g. /queue/REDUCTION.HIMEM.DATA_READY")
    .option("--instrument <name>", "only runs of this instrument")
    .option("--title <regex>", "run title matches this regular expression", regex("title"))
    .option("--sample <regex>", "sample name matches this regular expression", regex("sample"))
    .addOption(new Option("--min-file-bytes <n>", "raw file at least this big").argParser(Number))
    .option(
      "--executor <name>",
      `run matching jobs with this executor (${EXECUTOR_KINDS.join(", ")}); default: the worker's own`,
    )
    .option(
      "--workers <kind>",
      "who serves the queue: autoreduce, or sns-agent (jobs carry no script text; the agent decides DISABLED); default: the instrument's `workers`",
    )
    .addOption(new Option("--priority <n>", "lower is checked first").default(100).argParser(Number))
    .action(async (name: string, raw: unknown) => {
      const parsed = AddOptions.safeParse(raw);
      if (!parsed.success) throw new CommandFailed(`bad option: ${parsed.error.issues[0]?.message ?? ""}`);
      const o = parsed.data;
      if (!o.instrument && !o.title && !o.sample && o.minFileBytes === undefined)
        throw new CommandFailed(
          "a rule needs a condition: --instrument, --title, --sample or --min-file-bytes",
        );
      const c = await connect(configFromOption(o.config), "route", "warn");
      try {
        await saveRouteRule(c.database, {
          name,
          priority: o.priority,
          instrument: o.instrument ?? null,
          title: o.title ?? null,
          sample: o.sample ?? null,
          min_file_bytes: o.minFileBytes ?? null,
          queue: normalizeDestination(o.queue),
          executor: o.executor ?? null,
          workers: o.workers ?? null,
          created_by: who(),
        });
        const by =
          (o.executor ? `, run with executor ${o.executor}` : "") +
          (o.workers ? `, served by ${o.workers}` : "");
        process.stdout.write(`rule ${name}: matching jobs go to ${normalizeDestination(o.queue)}${by}\n`);
      } finally {
        await c.close();
      }
    });
  route
    .command("remove")
    .description("remove a rule kept in the database")
    .argument("<name>")
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .action(async (name: string, o: { config?: string }) => {
      const c = await connect(configFromOption(o.config), "route", "warn");
      try {
        if (!(await removeRouteRule(c.database, name))) throw new CommandFailed(`no rule named ${name}`);
        process.stdout.write(`rule ${name} removed\n`);
      } finally {
        await c.close();
      }
    });
  return route;
}
