import { Command, Option } from "commander";
import { scriptDefaults, setVariables } from "../coordinator/operations.ts";
import { effectiveVariables, selectVariableSet } from "../coordinator/variable-selection.ts";
import { deleteVariableSet, variableSets } from "../store/variable-store.ts";
import { parseAssignments } from "./assignments.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";
import { positiveInt } from "./runs-command.ts";
import { formatTable } from "./table.ts";

const opt = () => new Option("--config <file>", "configuration file (default ./autoreduce.yaml)");

export function varsCommand(): Command {
  const vars = new Command("vars").description(
    "show and set the variables of an instrument's reduction script",
  );
  vars
    .command("show")
    .description("the script's defaults, the variable sets, and the values a run would get")
    .argument("<instrument>")
    .addOption(opt())
    .addOption(new Option("--run <number>", "show the values for this run").argParser(positiveInt))
    .option("--experiment <id>", "... in this experiment")
    .option("--json", "print JSON")
    .action(
      async (
        instrument: string,
        o: { config?: string; run?: number; experiment?: string; json?: boolean },
      ) => {
        const config = configFromOption(o.config);
        const inst = instrument.toUpperCase();
        const defaults = await scriptDefaults(config, inst);
        const c = await connect(config, "vars", "warn");
        try {
          const sets = (await variableSets(c.database, inst)).filter(
            (s) => s.deleted_at === null && s.scope !== "default",
          );
          const chosen = o.run !== undefined ? selectVariableSet(sets, o.run, o.experiment ?? "") : null;
          const values = effectiveVariables(defaults, chosen);
          if (o.json) {
            process.stdout.write(
              `${JSON.stringify({ defaults, sets, ...(o.run !== undefined ? { run: o.run, set: chosen?.id ?? null, values } : {}) }, null, 2)}\n`,
            );
            return;
          }
          const rows = Object.entries({ ...values.standard_vars, ...values.advanced_vars }).map(
            ([name, v]) => [
              name,
              JSON.stringify(v),
              JSON.stringify(defaults.standard_vars[name] ?? defaults.advanced_vars[name]),
            ],
          );
          const head =
            o.run !== undefined
              ? `run ${o.run}: ${chosen ? `set ${chosen.id} (${chosen.scope})` : "script defaults"}`
              : "script defaults";
          process.stdout.write(
            `${head}\n${formatTable(["VARIABLE", "VALUE", "DEFAULT"], rows)}\n\n${setsTable(sets)}\n`,
          );
        } finally {
          await c.close();
        }
      },
    );
  vars
    .command("set")
    .description(
      "make a variable set for future runs from a run number on, or for one experiment (also offered for existing runs)",
    )
    .argument("<instrument>")
    .argument("<assignments...>", "name=value pairs")
    .addOption(opt())
    .addOption(new Option("--from-run <number>", "apply from this run on").argParser(positiveInt))
    .option("--experiment <id>", "apply to this experiment's runs")
    .action(
      async (
        instrument: string,
        assignments: string[],
        o: { config?: string; fromRun?: number; experiment?: string },
      ) => {
        const c = await connect(configFromOption(o.config), "vars", "warn");
        try {
          const inst = instrument.toUpperCase();
          const { id, affected } = await setVariables(c, {
            instrument: inst,
            fromRun: o.fromRun,
            experiment: o.experiment,
            values: parseAssignments(assignments),
            by: process.env.USER ?? "unknown",
          });
          const lines = [
            `saved variable set ${id} (${o.fromRun !== undefined ? `runs from ${o.fromRun} on` : `experiment ${o.experiment}`})`,
          ];
          if (affected.length) {
            lines.push(
              `${affected.length} existing run(s) would now get these values; to re-run them:`,
              `  autoreduce rerun ${inst} ${affected.join(",")}`,
            );
          }
          process.stdout.write(`${lines.join("\n")}\n`);
        } finally {
          await c.close();
        }
      },
    );
  vars
    .command("history")
    .description("every variable set of the instrument, deleted ones included")
    .argument("<instrument>")
    .addOption(opt())
    .option("--json", "print JSON")
    .action(async (instrument: string, o: { config?: string; json?: boolean }) => {
      const c = await connect(configFromOption(o.config), "vars", "warn");
      try {
        const sets = await variableSets(c.database, instrument);
        process.stdout.write(o.json ? `${JSON.stringify(sets, null, 2)}\n` : `${setsTable(sets)}\n`);
      } finally {
        await c.close();
      }
    });
  vars
    .command("delete")
    .description("delete a variable set (it stays in the history)")
    .argument("<instrument>")
    .argument("<id>", "set id (see vars history)", positiveInt)
    .addOption(opt())
    .action(async (instrument: string, id: number, o: { config?: string }) => {
      const c = await connect(configFromOption(o.config), "vars", "warn");
      try {
        if (!(await deleteVariableSet(c.database, instrument, id, process.env.USER ?? "unknown"))) {
          throw new CommandFailed(`no live variable set ${id} for ${instrument.toUpperCase()}`);
        }
        process.stdout.write(`deleted variable set ${id}\n`);
      } finally {
        await c.close();
      }
    });
  return vars;
}

function setsTable(sets: Awaited<ReturnType<typeof variableSets>>): string {
  if (sets.length === 0) return "no variable sets";
  return formatTable(
    ["ID", "SCOPE", "APPLIES TO", "BY", "CREATED", "DELETED", "VALUES"],
    sets.map((s) => [
      String(s.id),
      s.scope,
      s.scope === "from_run"
        ? `runs ≥ ${s.start_run}`
        : s.scope === "experiment"
          ? (s.experiment ?? "")
          : "defaults",
      s.created_by ?? "",
      s.created_at,
      s.deleted_at ? `by ${s.deleted_by ?? "?"}` : "",
      JSON.stringify({ ...s.values.standard_vars, ...s.values.advanced_vars }),
    ]),
  );
}
