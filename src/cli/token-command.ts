import { userInfo } from "node:os";
import { Command, CommanderError, Option } from "commander";
import { openStateDatabase } from "../store/state-database.ts";
import { createToken, listTokens, revokeToken, TokenRefused } from "../store/token-store.ts";
import { configFromOption } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";
import { positiveInt } from "./runs-command.ts";
import { formatTable } from "./table.ts";

const opt = () => new Option("--config <file>", "configuration file (default ./autoreduce.yaml)");
const DAY_MS = 86_400_000;

/** `autoreduce token create|list|revoke`: the API's per-holder bearer tokens. */
export function tokenCommand(): Command {
  const token = new Command("token").description(
    "API tokens, one per holder: create (shown once), list (never the secret), revoke",
  );
  token
    .command("create")
    .description("make a token and print it once (only its hash is kept)")
    .requiredOption("--name <name>", "who or what holds it (unique; recorded as who made changes)")
    .requiredOption("--role <role>", "admin | scientist[:INST[,INST]] | read")
    .option(
      "--instrument <name>",
      "an instrument a scientist token may change (repeat for more)",
      collect,
      [],
    )
    .addOption(
      new Option("--expires <days>", "stop accepting it after this many days").argParser(positiveInt),
    )
    .addOption(opt())
    .action(
      async (o: { name: string; role: string; instrument: string[]; expires?: number; config?: string }) => {
        await withDatabase(o.config, async (database) => {
          const { token: secret, record } = await createToken(database, {
            name: o.name,
            role: o.role,
            instruments: o.instrument,
            expiresAt: o.expires ? Date.now() + o.expires * DAY_MS : null,
            createdBy: userInfo().username,
          }).catch((e: unknown) => {
            if (e instanceof TokenRefused) {
              process.stderr.write(`autoreduce: ${e.message}\n`);
              throw new CommanderError(2, "autoreduce.usage", e.message);
            }
            throw e;
          });
          process.stderr.write(
            `token "${record.name}" (${describeRole(record)}${record.expires_at ? `, expires ${iso(record.expires_at)}` : ""}) made; it is shown only now:\n`,
          );
          process.stdout.write(`${secret}\n`);
        });
      },
    );
  token
    .command("list")
    .description("every token with its role, expiry and last use (never the secret)")
    .addOption(opt())
    .option("--json", "print JSON")
    .action(async (o: { config?: string; json?: boolean }) => {
      await withDatabase(o.config, async (database) => {
        const tokens = await listTokens(database);
        // JSON keys are snake_case like every other field of the list.
        const listed = tokens.map(({ userId, ...t }) => ({ ...t, user_id: userId }));
        if (o.json) return void process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
        const now = Date.now();
        const rows = tokens.map((t) => [
          String(t.id),
          t.name,
          describeRole(t),
          t.revoked_at
            ? `revoked ${iso(t.revoked_at)}`
            : t.expires_at && t.expires_at <= now
              ? "expired"
              : "active",
          t.expires_at ? iso(t.expires_at) : "never",
          t.last_used_at ? iso(t.last_used_at) : "never",
        ]);
        process.stdout.write(
          `${tokens.length ? formatTable(["ID", "NAME", "ROLE", "STATE", "EXPIRES", "LAST USED"], rows) : "no tokens (make one with `autoreduce token create`)"}\n`,
        );
      });
    });
  token
    .command("revoke")
    .description("stop accepting a token at once")
    .argument("<name-or-id>")
    .addOption(opt())
    .action(async (which: string, o: { config?: string }) => {
      await withDatabase(o.config, async (database) => {
        const revoked = await revokeToken(database, which);
        if (!revoked) throw new CommandFailed(`no active token named or numbered "${which}"`);
        process.stdout.write(`token "${revoked.name}" revoked\n`);
      });
    });
  return token;
}

async function withDatabase(
  path: string | undefined,
  step: (database: Awaited<ReturnType<typeof openStateDatabase>>) => Promise<void>,
): Promise<void> {
  const config = configFromOption(path);
  const database = await openStateDatabase(config.database.url, config.database.pool_size);
  try {
    await step(database);
  } finally {
    await database.close();
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function describeRole(t: { role: string; instruments: string[] }): string {
  return t.instruments.length ? `${t.role}:${t.instruments.join(",")}` : t.role;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}
