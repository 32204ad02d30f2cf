import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { LocalCatalog } from "../catalog/catalog.ts";
import { catalogFormat, parseCatalogFile } from "../catalog/catalog-file.ts";
import { experimentProblem } from "../messages/path-component.ts";
import { openStateDatabase, type SqlDatabase } from "../store/state-database.ts";
import { UserRefused } from "../store/user-store.ts";
import { configFromOption } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";
import { formatTable } from "./table.ts";

const opt = () => new Option("--config <file>", "configuration file (default ./autoreduce.yaml)");

/**
 * `autoreduce catalog import|add-member|remove-member|list`: the local experiment catalog (who
 * belongs to which experiment; see src/catalog/catalog.ts and docs/operations.md).
 */
export function catalogCommand(): Command {
  const catalog = new Command("catalog").description(
    "experiment memberships: import a user-office export, add or remove a member, list",
  );
  catalog
    .command("import")
    .description(
      "import memberships from a CSV (header: experiment,username[,title,pi,start,end,proposal]) or JSON export\n" +
        '([{"experiment": …, "members": [...], "title"?, "pi"?, "start"?, "end"?, …}]); all or nothing',
    )
    .argument("<file>", "the export (.csv or .json; other names are told apart by their first character)")
    .option("--replace", "remove imported members of the listed experiments that the file no longer lists")
    .addOption(
      new Option("--format <format>", "csv or json (default: from the file)").choices(["csv", "json"]),
    )
    .addOption(opt())
    .action(async (file: string, o: { replace?: boolean; format?: "csv" | "json"; config?: string }) => {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        throw new CommandFailed(`cannot read ${file}: ${(e as Error).message}`);
      }
      const entries = parseCatalogFile(text, o.format ?? catalogFormat(file, text));
      await withCatalog(o.config, async (c) => {
        const s = await c.import(entries, { replace: o.replace ?? false });
        process.stdout.write(
          `imported ${s.experiments} experiment${s.experiments === 1 ? "" : "s"}: ${s.added} member${s.added === 1 ? "" : "s"} added, ${s.unchanged} unchanged${o.replace ? `, ${s.removed} removed` : ""}\n`,
        );
        if (s.withoutAccount.length > 0)
          process.stdout.write(
            `${s.withoutAccount.length} listed user name${s.withoutAccount.length === 1 ? " has" : "s have"} no account yet (access starts when the account exists): ${s.withoutAccount.slice(0, 20).join(", ")}${s.withoutAccount.length > 20 ? ", …" : ""}\n`,
          );
      });
    });
  catalog
    .command("add-member")
    .description("add a person to an experiment by hand (an import never removes such a member)")
    .argument("<experiment>")
    .argument("<username>")
    .addOption(opt())
    .action(async (experiment: string, username: string, o: { config?: string }) => {
      checkExperiment(experiment);
      await withCatalog(o.config, async (c) => {
        const added = await c.addMember(experiment, username);
        process.stdout.write(
          added
            ? `${username} added to ${experiment}\n`
            : `${username} is already a member of ${experiment}\n`,
        );
      });
    });
  catalog
    .command("remove-member")
    .description("remove a person from an experiment (however they were added)")
    .argument("<experiment>")
    .argument("<username>")
    .addOption(opt())
    .action(async (experiment: string, username: string, o: { config?: string }) => {
      await withCatalog(o.config, async (c) => {
        if (!(await c.removeMember(experiment, username)))
          throw new CommandFailed(`${username} is not a member of ${experiment}`);
        process.stdout.write(`${username} removed from ${experiment}\n`);
      });
    });
  catalog
    .command("list")
    .description("experiments with their member counts, or one experiment's members and catalog data")
    .argument("[experiment]")
    .option("--json", "print JSON")
    .addOption(opt())
    .action(async (experiment: string | undefined, o: { json?: boolean; config?: string }) => {
      await withCatalog(o.config, async (c) => {
        if (experiment === undefined) return listExperiments(c, o.json ?? false);
        return listMembers(c, experiment, o.json ?? false);
      });
    });
  return catalog;
}

async function listExperiments(c: LocalCatalog, json: boolean): Promise<void> {
  const experiments = await c.experiments();
  if (json) return void process.stdout.write(`${JSON.stringify(experiments, null, 2)}\n`);
  if (experiments.length === 0)
    return void process.stdout.write(
      "no experiments in the catalog (import an export with `autoreduce catalog import FILE`)\n",
    );
  const rows = experiments.map((e) => [e.experiment, String(e.members), e.title ?? ""]);
  process.stdout.write(`${formatTable(["EXPERIMENT", "MEMBERS", "TITLE"], rows)}\n`);
}

async function listMembers(c: LocalCatalog, experiment: string, json: boolean): Promise<void> {
  const [members, description] = await Promise.all([c.memberships(experiment), c.describe(experiment)]);
  if (json) {
    const out = {
      experiment,
      title: description?.title ?? null,
      metadata: description?.metadata ?? {},
      members: members.map(({ username, source, added_at }) => ({
        username,
        source,
        added_at: new Date(added_at).toISOString(),
      })),
    };
    return void process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  }
  if (description?.title) process.stdout.write(`${experiment}: ${description.title}\n`);
  for (const [key, value] of Object.entries(description?.metadata ?? {}))
    process.stdout.write(`${key}: ${typeof value === "string" ? value : JSON.stringify(value)}\n`);
  if (members.length === 0) return void process.stdout.write(`${experiment} has no members\n`);
  const rows = members.map((m) => [
    m.username,
    m.source === "local" ? "added by hand" : "catalog",
    new Date(m.added_at).toISOString().replace(/\.\d+Z$/, "Z"),
  ]);
  process.stdout.write(`${formatTable(["USERNAME", "SOURCE", "ADDED"], rows)}\n`);
}

/** A name that could never be an experiment is bad usage (exit 2). */
function checkExperiment(experiment: string): void {
  const problem = experimentProblem(experiment);
  if (problem) usage(`experiment ${problem}`);
}

function usage(message: string): never {
  process.stderr.write(`autoreduce: ${message}\n`);
  throw new CommanderError(2, "autoreduce.usage", message);
}

async function withCatalog(path: string | undefined, step: (catalog: LocalCatalog) => Promise<void>) {
  const config = configFromOption(path);
  const database: SqlDatabase = await openStateDatabase(config.database.url, config.database.pool_size);
  try {
    await step(new LocalCatalog(database));
  } catch (e) {
    if (e instanceof UserRefused) usage(e.message);
    throw e;
  } finally {
    await database.close();
  }
}
