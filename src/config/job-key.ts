import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "./config-error.ts";
import type { Config } from "./load-config.ts";
import { readSecretFile } from "./secret-file.ts";

/** Shortest key accepted, in bytes of the file's text (`openssl rand -hex 32` gives 64). */
export const MIN_KEY_BYTES = 32;

/** The key that signs jobs, and where it came from. */
export interface JobKey {
  key: Buffer;
  /** The key file (absolute). */
  file: string;
  /** True when this process created the file just now (it was missing). */
  generated: boolean;
}

/** `security.job_key_file` resolved against `data_dir`. */
export function jobKeyPath(config: Pick<Config, "data_dir" | "security">): string {
  return resolve(config.data_dir, config.security.job_key_file);
}

/**
 * Reads the job key that the coordinator signs jobs with and the worker checks them with. A
 * missing file is created (64 random hex digits, mode 0600), so that one machine works out of the
 * box; with several machines, copy the coordinator's file to every worker. Throws ConfigError for
 * a file that everyone may read or that holds fewer than 32 bytes.
 */
export function readJobKey(config: Pick<Config, "data_dir" | "security" | "source">): JobKey {
  const file = jobKeyPath(config);
  const generated = createIfMissing(file);
  const text = readSecretFile(
    config.source,
    "security.job_key_file",
    file,
    "anyone who reads it can make workers run any script",
  );
  const problem = (text: string) =>
    new ConfigError(config.source, [`security.job_key_file: ${file} ${text}`]);
  if (Buffer.byteLength(text) < MIN_KEY_BYTES)
    throw problem(
      `holds ${Buffer.byteLength(text)} bytes; a job key needs at least ${MIN_KEY_BYTES} ` +
        `(make one with: openssl rand -hex 32 > ${file}; chmod 600 ${file})`,
    );
  return { key: Buffer.from(text, "utf8"), file, generated };
}

/**
 * Writes a fresh key to `file` unless it exists. The key is written to a private temporary file
 * and linked into place, which fails if another process got there first: two processes starting
 * together end up with the same key, and nobody ever reads a half-written one.
 */
function createIfMissing(file: string): boolean {
  try {
    statSync(file);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return false;
  }
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temporary, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  try {
    linkSync(temporary, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    unlinkSync(temporary);
  }
}
