import { RefusedError } from "../failures/refused-error.ts";

/** The configuration cannot be used. Thrown at start; the CLI exits with code 2. Retrying cannot help. */
export class ConfigError extends RefusedError {
  override readonly name = "ConfigError";
  constructor(
    /** The file (or "environment") the problem is in. */
    readonly file: string,
    /** Messages of the form `key.path: what was expected`. */
    readonly problems: string[],
  ) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}
