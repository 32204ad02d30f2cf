import { randomBytes } from "node:crypto";
import { userInfo } from "node:os";
import { Command, CommanderError, Option } from "commander";
import { instrumentSettings } from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";
import { openStateDatabase, type SqlDatabase } from "../store/state-database.ts";
import {
  createUser,
  findUser,
  grantInstrument,
  instrumentRoles,
  type LoginProvider,
  listUsers,
  revokeInstrument,
  setAdmin,
  setDisabled,
  setPasswordHash,
  type UserRecord,
  UserRefused,
} from "../store/user-store.ts";
import { hashPassword, MIN_PASSWORD_LENGTH } from "../web/auth/passwords.ts";
import { configFromOption } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";
import { formatTable } from "./table.ts";

const opt = () => new Option("--config <file>", "configuration file (default ./autoreduce.yaml)");
const stdinOption = () =>
  new Option("--password-stdin", "read the password from standard input (never from the command line)");
const generateOption = () => new Option("--generate-password", "make a random password and print it once");

/**
 * `autoreduce user add|list|grant|revoke|passwd|disable|enable|admin`: the people who sign in to
 * the web application and their roles. Operators make the first administrator with it. Passwords
 * are read from stdin or generated (printed once), never taken as arguments (they would show in
 * `ps` and shell history), and stored as argon2id hashes.
 */
export function userCommand(): Command {
  const user = new Command("user").description(
    "web accounts: add, list, grant or revoke an instrument, set a password, disable, make admin",
  );
  user
    .command("add")
    .description("make an account (local accounts need a password: --password-stdin or --generate-password)")
    .argument("<name>", "the user name people sign in with")
    .option("--admin", "an administrator of everything")
    .addOption(
      new Option("--provider <provider>", "where the account signs in")
        .choices(["local", "ldap", "oidc"])
        .default("local"),
    )
    .option("--display-name <text>", "the name pages show")
    .option("--email <address>", "for notifications")
    .addOption(stdinOption())
    .addOption(generateOption())
    .addOption(opt())
    .action(
      async (
        name: string,
        o: {
          admin?: boolean;
          provider: LoginProvider;
          displayName?: string;
          email?: string;
          passwordStdin?: boolean;
          generatePassword?: boolean;
          config?: string;
        },
      ) => {
        const wantsPassword = o.passwordStdin || o.generatePassword;
        if (o.provider === "local" && !wantsPassword)
          usage("a local account needs a password: --password-stdin or --generate-password");
        if (o.provider !== "local" && wantsPassword)
          usage(`a ${o.provider} account signs in with its provider's password: give no password option`);
        const password = wantsPassword ? await choosePassword(o) : null;
        await withDatabase(o.config, async (database) => {
          const made = await createUser(database, {
            username: name,
            provider: o.provider,
            passwordHash: password ? await hashPassword(password.value) : null,
            admin: o.admin ?? false,
            displayName: o.displayName ?? null,
            email: o.email ?? null,
          });
          process.stderr.write(
            `user "${made.username}" (${made.provider}${made.admin ? ", administrator" : ""}) made${password?.generated ? "; the password is shown only now:" : ""}\n`,
          );
          if (password?.generated) process.stdout.write(`${password.value}\n`);
        });
      },
    );
  user
    .command("list")
    .description("every account with its roles (never a password)")
    .option("--json", "print JSON")
    .addOption(opt())
    .action(async (o: { json?: boolean; config?: string }) => {
      await withDatabase(o.config, async (database) => {
        const [users, roles] = await Promise.all([listUsers(database), instrumentRoles(database)]);
        const listed = users.map((u) => ({ ...u, scientist_of: roles.get(u.id) ?? [] }));
        if (o.json) return void process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
        if (listed.length === 0)
          return void process.stdout.write(
            "no accounts (make the first administrator with `autoreduce user add NAME --admin --generate-password`)\n",
          );
        const rows = listed.map((u) => [
          u.username,
          u.display_name ?? "",
          u.provider,
          [u.admin ? "admin" : "", ...u.scientist_of.map((i) => `scientist:${i}`)]
            .filter(Boolean)
            .join(" ") || "-",
          u.disabled_at ? "disabled" : "active",
          u.last_login_at ? iso(u.last_login_at) : "never",
        ]);
        process.stdout.write(
          `${formatTable(["USERNAME", "NAME", "PROVIDER", "ROLES", "STATE", "LAST SIGN-IN"], rows)}\n`,
        );
      });
    });
  for (const [verb, granting] of [
    ["grant", true],
    ["revoke", false],
  ] as const) {
    user
      .command(verb)
      .description(
        granting
          ? "make a person a scientist of an instrument (sees and changes everything of it)"
          : "take an instrument's scientist role away from a person",
      )
      .argument("<name>")
      .requiredOption("--instrument <name>", "the instrument (repeat for more)", collect, [])
      .addOption(opt())
      .action(async (name: string, o: { instrument: string[]; config?: string }) => {
        await withDatabase(o.config, async (database, config) => {
          const person = await existing(database, name);
          for (const instrument of o.instrument) {
            const upper = instrument.toUpperCase();
            if (granting && !instrumentSettings(config, upper))
              usage(
                `unknown instrument ${instrument}: it is not in the configuration (${Object.keys(config.instruments).join(", ") || "none"})`,
              );
            if (granting) await grantInstrument(database, person.id, upper, userInfo().username);
            else await revokeInstrument(database, person.id, upper);
          }
          const list = o.instrument.map((i) => i.toUpperCase()).join(", ");
          process.stdout.write(
            granting
              ? `${person.username} is now a scientist of ${list}\n`
              : `${person.username} is no longer a scientist of ${list}\n`,
          );
        });
      });
  }
  user
    .command("passwd")
    .description("set a local account's password (its open sessions end)")
    .argument("<name>")
    .addOption(stdinOption())
    .addOption(generateOption())
    .addOption(opt())
    .action(
      async (name: string, o: { passwordStdin?: boolean; generatePassword?: boolean; config?: string }) => {
        if (!o.passwordStdin && !o.generatePassword) usage("give --password-stdin or --generate-password");
        const password = await choosePassword(o);
        await withDatabase(o.config, async (database) => {
          const person = await existing(database, name);
          if (person.provider !== "local")
            throw new CommandFailed(
              `${person.username} signs in with ${person.provider}: change the password there`,
            );
          await setPasswordHash(database, person.id, await hashPassword(password.value));
          await database.db.deleteFrom("sessions").where("user_id", "=", person.id).execute();
          process.stderr.write(
            `password of "${person.username}" changed; open sessions ended${password.generated ? "; the password is shown only now:" : ""}\n`,
          );
          if (password.generated) process.stdout.write(`${password.value}\n`);
        });
      },
    );
  for (const [verb, disabling] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    user
      .command(verb)
      .description(
        disabling
          ? "stop an account signing in (its sessions and personal tokens stop working at once)"
          : "let a disabled account sign in again",
      )
      .argument("<name>")
      .addOption(opt())
      .action(async (name: string, o: { config?: string }) => {
        await withDatabase(o.config, async (database) => {
          const person = await existing(database, name);
          await setDisabled(database, person.id, disabling);
          process.stdout.write(`${person.username} ${disabling ? "disabled" : "enabled"}\n`);
        });
      });
  }
  user
    .command("admin")
    .description("make a person an administrator (--on) or not (--off)")
    .argument("<name>")
    .option("--on", "an administrator of everything")
    .option("--off", "no longer an administrator")
    .addOption(opt())
    .action(async (name: string, o: { on?: boolean; off?: boolean; config?: string }) => {
      if (Boolean(o.on) === Boolean(o.off)) usage("give exactly one of --on and --off");
      await withDatabase(o.config, async (database) => {
        const person = await existing(database, name);
        await setAdmin(database, person.id, Boolean(o.on));
        process.stdout.write(`${person.username} is ${o.on ? "now" : "no longer"} an administrator\n`);
      });
    });
  return user;
}

/** A password from stdin (one line; its line break dropped) or a generated one. Too short is bad usage. */
async function choosePassword(o: {
  passwordStdin?: boolean;
  generatePassword?: boolean;
}): Promise<{ value: string; generated: boolean }> {
  if (o.passwordStdin && o.generatePassword) usage("give one of --password-stdin and --generate-password");
  if (o.generatePassword) return { value: randomBytes(18).toString("base64url"), generated: true };
  const value = (await readStdin()).replace(/\r?\n$/, "");
  if (value.includes("\n")) usage("the password on standard input must be one line");
  if (value.length < MIN_PASSWORD_LENGTH)
    usage(`the password must be at least ${MIN_PASSWORD_LENGTH} characters long (got ${value.length})`);
  return { value, generated: false };
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("password (then Enter and Ctrl-D): ");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function existing(database: SqlDatabase, name: string): Promise<UserRecord> {
  const person = await findUser(database, name);
  if (!person) throw new CommandFailed(`no user named "${name}" (see \`autoreduce user list\`)`);
  return person;
}

function usage(message: string): never {
  process.stderr.write(`autoreduce: ${message}\n`);
  throw new CommanderError(2, "autoreduce.usage", message);
}

async function withDatabase(
  path: string | undefined,
  step: (database: SqlDatabase, config: Config) => Promise<void>,
): Promise<void> {
  const config = configFromOption(path);
  const database = await openStateDatabase(config.database.url, config.database.pool_size);
  try {
    await step(database, config);
  } catch (e) {
    // A bad name or a taken one is the caller's to fix: bad usage, like a bad option.
    if (e instanceof UserRefused) usage(e.message);
    throw e;
  } finally {
    await database.close();
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}
