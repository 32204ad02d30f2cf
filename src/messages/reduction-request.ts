import { z } from "zod";
import { pathComponent } from "./path-component.ts";

/**
 * `REDUCTION.REQUEST`: a person asks for new versions of existing runs (SNS WebMon's "reduce"
 * button sends `instrument` + `run_number`; ours may name many runs and change variables).
 */
export const ReductionRequestSchema = z.looseObject({
  /** Becomes a folder name: letters, digits, `.`, `_`, `-` (see path-component.ts). */
  instrument: pathComponent(),
  /** One run (SNS form) ... */
  run_number: z
    .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)])
    .transform(Number)
    .optional(),
  /** ... or several (ours). */
  run_numbers: z.array(z.number().int().nonnegative()).optional(),
  /** Run the script file as it is now instead of the text stored with the version re-run from. Default false. */
  current_script: z.boolean().optional(),
  /**
   * Re-run from this version's stored script text and variables instead of the latest version's
   * (a run that has it; the others are refused with the reason). Default: the latest.
   */
  from_version: z.number().int().nonnegative().optional(),
  /** Variable values to change, by name; coerced to the type of the script's default. */
  variables: z.record(z.string(), z.unknown()).optional(),
  description: z.string().max(500).optional(),
  /** Who asked (user name), and with which role (caps the number of runs). */
  started_by: z.string().optional(),
  role: z.enum(["user", "staff", "admin"]).optional(),
  /** SNS puts "Requested by <user>" here. */
  information: z.string().optional(),
});
export type ReductionRequest = z.infer<typeof ReductionRequestSchema>;

/** The runs a request names. */
export function requestedRuns(request: ReductionRequest): number[] {
  const runs = [
    ...(request.run_numbers ?? []),
    ...(request.run_number !== undefined ? [request.run_number] : []),
  ];
  return [...new Set(runs)].sort((a, b) => a - b);
}
