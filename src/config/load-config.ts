import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { ConfigError } from "./config-error.ts";
import { type ConfigInput, ConfigSchema, type ParsedConfig } from "./config-schema.ts";

/** A validated configuration with every path made absolute. */
export type Config = ParsedConfig & {
  /** The file this came from, or "(defaults)". */
  source: string;
};

/** Environment variables that override fields (secrets do not belong in files). */
const ENV_OVERRIDES: Array<{ env: string; apply: (raw: Record<string, unknown>, value: string) => void }> = [
  {
    env: "AUTOREDUCE_DATABASE_URL",
    apply: (raw, value) => {
      const database = (raw.database ?? {}) as Record<string, unknown>;
      raw.database = { ...database, url: value };
    },
  },
];

/** Reads, validates and resolves `autoreduce.yaml`. Throws ConfigError naming the file and keys. */
export function loadConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  adjust: (raw: Record<string, unknown>) => Record<string, unknown> = (raw) => raw,
): Config {
  const path = resolve(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new ConfigError(path, [
      `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    ]);
  }
  const text = decodeConfigText(path, bytes);
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? ` at line ${e.linePos[0].line}` : "";
    throw new ConfigError(path, [`not valid YAML${where}: ${(e as Error).message.split("\n")[0]}`]);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(path, ["the file must hold a mapping of keys (see docs/configuration.md)"]);
  }
  return configFromObject(adjust(raw as Record<string, unknown>), path, env);
}

/** Validates an already-parsed config object; `source` names where it came from in errors. */
export function configFromObject(
  raw: ConfigInput | Record<string, unknown>,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const withEnv: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const override of ENV_OVERRIDES) {
    const value = env[override.env];
    if (value) override.apply(withEnv, value);
  }
  const result = ConfigSchema.safeParse(withEnv);
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((issue) => {
        const key = issue.path.join(".");
        if (issue.code === "unrecognized_keys") {
          const where = key ? `${key}: ` : "";
          return `${where}unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
        }
        // A record key that fails its own rule carries the reason one level down.
        const message =
          issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
        return `${key || "(top level)"}: ${message.replace(/^Invalid input: /, "")}`;
      }),
    );
  }
  checkDatabaseUrl(result.data.database.url, source, Boolean(env.AUTOREDUCE_DATABASE_URL));
  const baseDir = source.startsWith("(") ? process.cwd() : dirname(source);
  return resolvePaths(result.data, baseDir, source);
}

/**
 * The text of a config file. A file with NUL bytes or that is not UTF-8 is not a config file
 * (a binary copied over it, a truncated download): refused rather than read as nothing.
 */
function decodeConfigText(path: string, bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0)
    throw new ConfigError(path, [
      `not a text file: it holds a NUL byte at offset ${nul} (a YAML file is expected)`,
    ]);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(path, ["not a text file: it is not valid UTF-8 (a YAML file is expected)"]);
  }
}

/** The schemes the state database can be opened with (store/state-database.ts). */
const DATABASE_SCHEMES = /^(sqlite:|postgres:\/\/|postgresql:\/\/)/;

/** Refuses a database url no store can open, at load rather than at the first connection. */
function checkDatabaseUrl(url: string, source: string, fromEnv: boolean): void {
  if (DATABASE_SCHEMES.test(url)) return;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1];
  const where = fromEnv ? "database.url (from AUTOREDUCE_DATABASE_URL)" : "database.url";
  throw new ConfigError(source, [
    `${where}: ${scheme ? `the scheme "${scheme}:" is not supported` : "not a database url"}; use sqlite:<path> or postgres://user@host:port/db`,
  ]);
}

function resolvePaths(parsed: ParsedConfig, baseDir: string, source: string): Config {
  const dataDir = resolve(baseDir, parsed.data_dir);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dataDir, p));
  const url = parsed.database.url;
  return {
    ...parsed,
    source,
    data_dir: dataDir,
    database: {
      ...parsed.database,
      url: url.startsWith("sqlite:") ? `sqlite:${abs(url.slice("sqlite:".length))}` : url,
    },
    transport: {
      ...parsed.transport,
      stomp: {
        ...parsed.transport.stomp,
        password_file: parsed.transport.stomp.password_file && abs(parsed.transport.stomp.password_file),
      },
    },
    archive: { ...parsed.archive, roots: parsed.archive.roots.map(abs) },
    scripts: { ...parsed.scripts, root: abs(parsed.scripts.root) },
    output: { ...parsed.output, root: abs(parsed.output.root) },
    log_file: parsed.log_file && abs(parsed.log_file),
  };
}
