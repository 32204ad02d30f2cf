import { appendFileSync, copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderTemplate, TemplateError } from "./script-template.ts";

/** A script-template request (SNS `REDUCTION.CREATE_SCRIPT`). */
export interface CreateScriptRequest {
  instrument: string;
  /** Restore `reduce_<INST>_default.py` instead of filling the template. */
  use_default: boolean;
  template_data: Record<string, string | number | boolean>;
  /** Who asked ("Requested by <user>" at SNS). */
  information?: string | undefined;
}

/** What happened, in SNS's words (shown on the instrument's status topic). */
export interface CreateScriptResult {
  ok: boolean;
  status: string;
}

/**
 * Writes `reduce_<INST>.py` from `reduce_<INST>.py.template` and the given values (Python
 * `string.Template` placeholders), or restores `reduce_<INST>_default.py`; appends who asked and
 * the values to `reduction_parameters.txt` beside the script, as the SNS agent does.
 */
export function createScript(scriptDir: string, request: CreateScriptRequest): CreateScriptResult {
  const inst = request.instrument.toUpperCase();
  const target = join(scriptDir, `reduce_${inst}.py`);
  if (request.use_default) {
    const source = join(scriptDir, `reduce_${inst}_default.py`);
    if (!existsSync(source)) return { ok: false, status: `Missing ${inst} default script (${source})` };
    copyFileSync(source, target);
    record(scriptDir, request, { use_default: true });
    return { ok: true, status: `Installed default ${inst} script` };
  }
  const templatePath = `${target}.template`;
  if (!existsSync(templatePath)) return { ok: false, status: `Missing ${inst} reduction template` };
  try {
    writeFileSync(target, renderTemplate(readFileSync(templatePath, "utf8"), request.template_data));
  } catch (e) {
    if (e instanceof TemplateError)
      return { ok: false, status: `Error creating ${inst} reduction script: ${e.message}` };
    throw e;
  }
  record(scriptDir, request, request.template_data);
  return { ok: true, status: `Created ${inst} reduction script` };
}

/** One tab-separated line per request, with a header naming the columns on first write. */
function record(scriptDir: string, request: CreateScriptRequest, values: Record<string, unknown>): void {
  const file = join(scriptDir, "reduction_parameters.txt");
  const keys = Object.keys(values);
  const who = request.information ?? "unknown";
  if (!existsSync(file)) appendFileSync(file, `Time\tRequested by\t${keys.join("\t")}\n`);
  appendFileSync(
    file,
    `${new Date().toISOString()}\t${who}\t${keys.map((k) => String(values[k])).join("\t")}\n`,
  );
}
