import { CommanderError } from "commander";
import { ConfigError } from "../config/config-error.ts";
import { InfrastructureError } from "../failures/infrastructure-error.ts";
import { RefusedError } from "../failures/refused-error.ts";
import { CommandFailed } from "./command-failed.ts";

/** How a command that threw ends: its exit code, and the line for stderr (null: commander said it). */
export interface FailureExit {
  /** 0: help or version shown; 1: the thing asked failed; 2: bad usage or configuration. */
  code: 0 | 1 | 2;
  text: string | null;
}

/**
 * Decides by the error's kind, never its text: bad configuration exits 2; a failure the command
 * expects — its own (`CommandFailed`), refused input (`RefusedError`) or an unreachable
 * dependency (`InfrastructureError`) — exits 1 with its message; anything else is a defect and
 * exits 1 with its stack. Pure.
 */
export function failureExit(e: unknown): FailureExit {
  if (e instanceof CommanderError) {
    const shown = e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0;
    return { code: shown ? 0 : 2, text: null };
  }
  if (e instanceof ConfigError) return { code: 2, text: `autoreduce: ${e.message}` };
  if (e instanceof CommandFailed || e instanceof RefusedError || e instanceof InfrastructureError)
    return { code: 1, text: `autoreduce: ${e.message}` };
  return { code: 1, text: `autoreduce: unexpected error: ${(e as Error)?.stack ?? String(e)}` };
}
