import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { instrumentSettings } from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";
import { readReduceVars } from "../scripts/reduce-vars-reader.ts";
import type { VariableValues } from "./variable-selection.ts";

/** An instrument's reduction script as it is now: what a new reduction will run. */
export interface ScriptSnapshot {
  path: string;
  text: string;
  /** sha256 of the text. */
  hash: string;
  convention: "sns" | "isis";
  interpreter: string;
  /** Defaults from `reduce_vars.py`, when there is one beside the script. */
  defaults: VariableValues | null;
  /** sha256 of `reduce_vars.py`. */
  varsHash: string | null;
  /** Why `reduce_vars.py` could not be read (the reduction fails with this reason). */
  varsError: string | null;
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Whether a script has no text at all. ISIS's queue processor skips such a run ("Script text for
 * current instrument is empty", its test: `script.text = ""`); a script of blanks or comments
 * only is not empty there and fails like any script without `main`.
 */
export function isEmptyScript(text: string): boolean {
  return text.length === 0;
}

/**
 * Reads instruments' scripts and their `reduce_vars.py` (without running it), caching the parsed
 * variables by file size and mtime so a run does not pay for a Python start when nothing changed.
 */
export class ScriptCatalog {
  private readonly varsCache = new Map<
    string,
    { key: string; result: Pick<ScriptSnapshot, "defaults" | "varsHash" | "varsError"> }
  >();

  constructor(private readonly config: Config) {}

  /** The script as it is now, or null when the instrument has none (reduction disabled). */
  async current(instrument: string): Promise<ScriptSnapshot | null> {
    const settings = instrumentSettings(this.config, instrument);
    if (!settings) return null;
    const path = resolve(settings.scriptDir, settings.scriptFile);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      return null;
    }
    const vars = await this.readVars(settings.varsFile);
    return {
      path,
      text,
      hash: sha256(text),
      convention: settings.convention,
      interpreter: settings.interpreter,
      ...vars,
    };
  }

  /** Where the script would be (for messages about a missing one). */
  expectedPath(instrument: string): string {
    const settings = instrumentSettings(this.config, instrument);
    return settings ? resolve(settings.scriptDir, settings.scriptFile) : instrument;
  }

  private async readVars(path: string): Promise<Pick<ScriptSnapshot, "defaults" | "varsHash" | "varsError">> {
    let key: string;
    try {
      const st = statSync(path);
      key = `${st.size}:${st.mtimeMs}`;
    } catch {
      return { defaults: null, varsHash: null, varsError: null };
    }
    const cached = this.varsCache.get(path);
    if (cached?.key === key) return cached.result;
    let result: Pick<ScriptSnapshot, "defaults" | "varsHash" | "varsError">;
    try {
      const vars = await readReduceVars(path, this.config.scripts.python);
      result = {
        defaults: { standard_vars: vars.standard_vars, advanced_vars: vars.advanced_vars, types: vars.types },
        varsHash: sha256(readFileSync(path, "utf8")),
        varsError: null,
      };
    } catch (e) {
      result = { defaults: null, varsHash: null, varsError: (e as Error).message };
    }
    this.varsCache.set(path, { key, result });
    return result;
  }
}
