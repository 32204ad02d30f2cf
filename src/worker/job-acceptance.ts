import type { Config } from "../config/load-config.ts";
import { type Authenticity, verifyJob } from "../messages/job-signature.ts";
import { pathComponentProblem } from "../messages/path-component.ts";
import type { ReductionJob } from "../messages/reduction-job.ts";
import { locateScript } from "../scripts/script-location.ts";
import { chooseExecutor, ownExecutors } from "./executor-choice.ts";
import { dataFileRefusal, folderRefusal } from "./job-checks.ts";

/**
 * Whether this worker takes a job, judged by its own configuration only:
 * - `accept`: it may run; `signed` says whether the coordinator signed it (then its stored script
 *   text and variables are run); `executor` names which of the worker's executors runs it;
 * - `refuse`: it never runs; it goes to `POSTPROCESS.ERROR` with `reason`.
 */
export type Acceptance =
  | { kind: "accept"; signed: boolean; executor: string }
  | { kind: "refuse"; reason: string };

/** Why a name cannot be a path component (the one rule of messages/path-component.ts), or null. */
export function componentRefusal(field: string, value: string): string | null {
  const problem = pathComponentProblem(value);
  return problem ? `${field} ${JSON.stringify(value)} is not a safe path component: ${problem}` : null;
}

/**
 * What a job may carry, by its authenticity: stored script text and variables only with a valid
 * signature; a signature that does not verify is refused whatever the job asks.
 */
export function authenticityRefusal(
  authenticity: Authenticity,
  carries: { script: boolean; variables: boolean },
): string | null {
  if (authenticity === "invalid")
    return "job_signature does not verify with this worker's job key (security.job_key_file): the job was altered or forged, or the coordinator uses another key";
  if (authenticity === "unsigned" && carries.script)
    return "the job carries script text but no coordinator signature; an unsigned job runs only the instrument's script file";
  if (authenticity === "unsigned" && carries.variables)
    return "the job carries variables but no coordinator signature; an unsigned job runs the instrument's script file with its own defaults";
  return null;
}

/**
 * Judges a job before it waits for a slot: names, signature, and that its data file and output
 * folder lie inside this worker's roots (links resolved). The job's `interpreter` is never used
 * (the worker's configuration names it). `checkBeforeRun` looks at the paths again just before the
 * script starts.
 */
export function acceptJob(job: ReductionJob, config: Config, key: Buffer): Acceptance {
  for (const [field, value] of [
    ["facility", job.facility],
    ["instrument", job.instrument],
    ["ipts", job.ipts],
  ] as const) {
    const refusal = componentRefusal(field, value);
    if (refusal) return { kind: "refuse", reason: refusal };
  }
  const authenticity = verifyJob(job, key);
  const executor = chooseExecutor(job.executor, ownExecutors(config.worker));
  const refusal =
    (executor.kind === "refuse" ? executor.reason : null) ??
    authenticityRefusal(authenticity, { script: !!job.script, variables: !!job.variables }) ??
    dataFileRefusal(job.data_file, config.archive.roots) ??
    folderRefusal(locateScript(config, job).outputDir, [config.output.root]);
  if (refusal || executor.kind === "refuse") return { kind: "refuse", reason: refusal ?? "" };
  return { kind: "accept", signed: authenticity === "valid", executor: executor.name };
}
