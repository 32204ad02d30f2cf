import { z } from "zod";

/** The longest name accepted as one path component (file systems allow 255 bytes). */
export const PATH_COMPONENT_MAX_LENGTH = 200;

const ALLOWED = /^[A-Za-z0-9._-]+$/;

/**
 * Why `value` cannot be one path component (a folder or file name built from a message, the
 * command line or an archive path), or null when it can: letters, digits, `.`, `_` and `-`
 * only — so no `/`, `\`, NUL, control characters or spaces — not starting with `.`
 * (so not `.` or `..`), not empty, at most {@link PATH_COMPONENT_MAX_LENGTH} characters. Instrument, experiment and run names
 * become folders under the output root; this keeps every one of them inside it.
 */
export function pathComponentProblem(value: string): string | null {
  const shape = nameShapeProblem(value);
  if (shape) return shape;
  if (!ALLOWED.test(value))
    return `${JSON.stringify(value)} may hold only letters, digits, ".", "_" and "-" (it becomes a folder name)`;
  if (value.startsWith(".")) return `${JSON.stringify(value)} must not start with "." (a hidden name)`;
  return null;
}

/** What both kinds of name must be: not empty, not too long, not `.` or `..`. */
function nameShapeProblem(value: string): string | null {
  if (value.length === 0) return "must not be empty";
  if (value.length > PATH_COMPONENT_MAX_LENGTH)
    return `is ${value.length} characters long (at most ${PATH_COMPONENT_MAX_LENGTH})`;
  if (value === "." || value === "..") return `must not be "${value}"`;
  return null;
}

/** Path separators and control characters (NUL included) are never part of an experiment name. */
function hasSeparatorOrControl(value: string): boolean {
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (char === "/" || char === "\\" || code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Why an experiment as a message claims it is malformed (the message goes to the error queue),
 * or null when it can at least be recorded: not empty, no `/`, `\`, or control characters, not
 * `.` or `..`, at most {@link PATH_COMPONENT_MAX_LENGTH} characters. An experiment that passes
 * this but not {@link pathComponentProblem} or the instrument's `experiment_pattern` (ISIS's
 * calibration placeholder `INVALID RB NUMBER CALIBRATION RUN PERHAPS`) is recorded as a skipped
 * run, never reduced and never made into a folder.
 */
export function experimentProblem(value: string): string | null {
  const shape = nameShapeProblem(value);
  if (shape) return shape;
  if (hasSeparatorOrControl(value))
    return `${JSON.stringify(value)} may hold only letters, digits, punctuation and spaces (no "/", "\\" or control characters)`;
  return null;
}

/** A zod experiment (string or number) that can be recorded (see {@link experimentProblem}). */
export const experimentName = () =>
  z
    .union([z.string(), z.number()])
    .transform(String)
    .pipe(
      z.string().superRefine((value, ctx) => {
        const problem = experimentProblem(value);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    );

/** A zod string that must be one safe path component (see {@link pathComponentProblem}). */
export const pathComponent = () =>
  z.string().superRefine((value, ctx) => {
    const problem = pathComponentProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
