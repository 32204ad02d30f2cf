import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "./config-error.ts";

/**
 * Reads a file that holds a secret (the job key, an OIDC client secret), trimmed. A file that
 * cannot be read, or that everyone may read, is a ConfigError naming the config key, the file
 * and what to do (`why` says what a reader of the file could do with it).
 */
export function readSecretFile(source: string, key: string, file: string, why: string): string {
  const problem = (text: string) => new ConfigError(source, [`${key}: ${file} ${text}`]);
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, "utf8").trim();
  } catch (e) {
    throw problem(`cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (mode & 0o004)
    throw problem(`is readable by everyone (mode ${(mode & 0o777).toString(8)}); ${why}: chmod 600 ${file}`);
  return text;
}
