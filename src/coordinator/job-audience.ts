import type { WorkersKindName } from "../config/config-schema.ts";
import type { InstrumentSettings } from "../config/instrument-settings.ts";
import type { ReductionJobFields } from "../messages/reduction-job.ts";

/**
 * Jobs shaped for who takes them (pure decisions, table-tested). Our workers read a job from the
 * broker and can take the script text and variables with it. An SNS post-processing agent
 * passes the whole job body to a child process as ONE command-line argument, which Linux refuses
 * above `MAX_ARG_STRLEN` (`Argument list too long`) — after the agent has acked the job, so it
 * would be lost without a word. Its jobs therefore carry only what the agent and our reports
 * need, and one still too big is refused before it is sent.
 */

/**
 * The largest job body (UTF-8 bytes, as sent) an SNS agent can take: Linux's `MAX_ARG_STRLEN`
 * (32 pages of 4 KiB, 131072 bytes) less the argument's terminating NUL. The agent removes the
 * spaces first, so a body of this size always fits.
 */
export const SNS_AGENT_MAX_JOB_BYTES = 131_071;

/**
 * The fields of a job an SNS agent is sent: the SNS fields it reads, and ours that come back in
 * its reports (the agent echoes its input) so the coordinator finds the reduction and its
 * attempt. Not the script text, its variables, the interpreter or the executor: the agent runs
 * its own script file with its own interpreter.
 */
const SNS_AGENT_FIELDS = [
  "facility",
  "instrument",
  "ipts",
  "run_number",
  "data_file",
  "job_id",
  "run_version",
  "output_dir",
  "retry",
] as const;

/** The job as `workers` should get it. */
export function jobFor<T extends ReductionJobFields>(job: T, workers: WorkersKindName): ReductionJobFields {
  if (workers === "autoreduce") return job;
  const fields: Record<string, unknown> = {};
  for (const key of SNS_AGENT_FIELDS) if (job[key] !== undefined) fields[key] = job[key];
  return fields as ReductionJobFields;
}

/** Why a job body cannot be sent to `workers`, or null when it can. */
export function jobTooLarge(body: string, workers: WorkersKindName): string | null {
  if (workers === "autoreduce") return null;
  const bytes = Buffer.byteLength(body, "utf8");
  if (bytes <= SNS_AGENT_MAX_JOB_BYTES) return null;
  return `the job message is ${bytes} bytes, more than an SNS post-processing agent can take (${SNS_AGENT_MAX_JOB_BYTES}: it passes the job as one command-line argument); not sent`;
}

/**
 * Who decides whether an instrument has a reduction script: the instrument's `script_check`
 * when set; else the worker when SNS agents serve the run's route (they read the script on
 * their own nodes, where the coordinator may not see it), else the coordinator.
 */
export function scriptCheckBy(
  settings: Pick<InstrumentSettings, "scriptCheck"> | null,
  workers: WorkersKindName,
): "coordinator" | "worker" {
  return settings?.scriptCheck ?? (workers === "sns-agent" ? "worker" : "coordinator");
}
