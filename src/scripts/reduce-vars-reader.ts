/**
 * Reads an ISIS `reduce_vars.py` without running it. The file is parsed by `read_reduce_vars.py` (Python's
 * `ast`; only `name = <literal>` assignments are accepted, values go through `ast.literal_eval`), whose JSON
 * is validated here. The Python type of each default is kept in `types`, so that a float default `1.0`,
 * which JSON would turn into `1`, stays a "number" rather than an "integer".
 */
import { execFile } from "node:child_process";
import { basename } from "node:path";
import { z } from "zod";
import { RefusedError } from "../failures/refused-error.ts";
import { describeIssues } from "../messages/message-error.ts";
import { packageFile } from "../package-files.ts";
import type { VarType, VarValue } from "./variable-types.ts";

export type { VarValue } from "./variable-types.ts";

/** The variables of a `reduce_vars.py`, in the file's order. */
export interface ReduceVars {
  standard_vars: Record<string, VarValue>;
  advanced_vars: Record<string, VarValue>;
  variable_help: { standard_vars: Record<string, string>; advanced_vars: Record<string, string> };
  /** Each variable's type, from its Python type (a float `1.0` gives "number"). */
  types: { standard_vars: Record<string, VarType>; advanced_vars: Record<string, VarType> };
}

/** Thrown when a `reduce_vars.py` cannot be read: not literal-only, invalid, or the helper failed. */
export class ReduceVarsError extends RefusedError {
  override readonly name = "ReduceVarsError";
  constructor(
    readonly path: string,
    /** Why, e.g. "only plain assignments of literal values are allowed (found a function call)". */
    override readonly reason: string,
    /** The 1-based line concerned, when there is one. */
    readonly line?: number,
  ) {
    super(`${basename(path)}${line === undefined ? "" : ` line ${line}`}: ${reason}`);
  }
}

const HELPER = packageFile("src", "scripts", "read_reduce_vars.py");
const TIMEOUT_MS = 10_000;

const TYPES = {
  str: "text",
  int: "integer",
  float: "number",
  bool: "boolean",
  list: "list_text",
  "list[str]": "list_text",
  "list[int]": "list_number",
  "list[float]": "list_number",
  "list[bool]": "list_boolean",
} as const satisfies Record<string, VarType>;

const name = z.string();
const variable = z.discriminatedUnion("type", [
  z.object({ name, type: z.literal("str"), value: z.string() }),
  z.object({ name, type: z.literal("int"), value: z.number().int() }),
  z.object({ name, type: z.literal("float"), value: z.number() }),
  z.object({ name, type: z.literal("bool"), value: z.boolean() }),
  z.object({ name, type: z.literal("list"), value: z.array(z.never()) }),
  z.object({ name, type: z.literal("list[str]"), value: z.array(z.string()) }),
  z.object({ name, type: z.literal("list[int]"), value: z.array(z.number().int()) }),
  z.object({ name, type: z.literal("list[float]"), value: z.array(z.number()) }),
  z.object({ name, type: z.literal("list[bool]"), value: z.array(z.boolean()) }),
]);
const helpSection = z.array(z.object({ name, text: z.string() }));
const success = z.object({
  standard_vars: z.array(variable),
  advanced_vars: z.array(variable),
  variable_help: z.object({ standard_vars: helpSection, advanced_vars: helpSection }),
});
const failure = z.object({ error: z.string(), line: z.number().int().positive().nullable() });

type Variables = z.infer<typeof variable>[];

/**
 * Reads the variables of the `reduce_vars.py` at `path` with the given Python interpreter (10 s limit).
 * Throws ReduceVarsError for any failure, including a missing interpreter.
 */
export async function readReduceVars(path: string, python = "python3"): Promise<ReduceVars> {
  const { code, stdout, problem } = await runHelper(python, path);
  if (problem !== undefined) throw new ReduceVarsError(path, problem);
  const json = parseJson(stdout);
  if (code === 2) {
    const parsed = failure.safeParse(json);
    if (!parsed.success) throw new ReduceVarsError(path, `the reader failed: ${stdout.trim().slice(0, 200)}`);
    throw new ReduceVarsError(path, parsed.data.error, parsed.data.line ?? undefined);
  }
  const parsed = success.safeParse(json);
  if (!parsed.success) {
    throw new ReduceVarsError(path, `the reader's output is invalid (${describeIssues(parsed.error, json)})`);
  }
  const { standard_vars, advanced_vars, variable_help } = parsed.data;
  return {
    standard_vars: values(standard_vars),
    advanced_vars: values(advanced_vars),
    variable_help: {
      standard_vars: Object.fromEntries(variable_help.standard_vars.map((h) => [h.name, h.text])),
      advanced_vars: Object.fromEntries(variable_help.advanced_vars.map((h) => [h.name, h.text])),
    },
    types: { standard_vars: types(standard_vars), advanced_vars: types(advanced_vars) },
  };
}

function values(variables: Variables): Record<string, VarValue> {
  return Object.fromEntries(variables.map((v) => [v.name, v.value]));
}

function types(variables: Variables): Record<string, VarType> {
  return Object.fromEntries(variables.map((v) => [v.name, TYPES[v.type]]));
}

function parseJson(stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}

interface HelperRun {
  code: number;
  stdout: string;
  /** Set when the helper did not run to an answer (missing interpreter, timeout, crash). */
  problem?: string;
}

function runHelper(python: string, path: string): Promise<HelperRun> {
  return new Promise((resolve) => {
    const options = { timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" as const };
    execFile(python, ["-I", "-S", HELPER, path], options, (error, stdout, stderr) => {
      if (error === null) return resolve({ code: 0, stdout });
      if (error.code === "ENOENT")
        return resolve({ code: -1, stdout, problem: `cannot run ${python}: not found` });
      if (error.killed) {
        return resolve({ code: -1, stdout, problem: `the reader timed out after ${TIMEOUT_MS / 1000} s` });
      }
      if (error.code === 2) return resolve({ code: 2, stdout });
      const last = stderr.trim().split("\n").at(-1) ?? "";
      const how = typeof error.code === "number" ? `exit code ${error.code}` : error.message;
      return resolve({
        code: -1,
        stdout,
        problem: `the reader failed with ${how}${last ? `: ${last}` : ""}`,
      });
    });
  });
}
