/**
 * The environment a reduction script runs with. It is built, never inherited: the worker's own
 * environment holds broker and database credentials (AUTOREDUCE_STOMP_PASSWORD, PGPASSWORD, ...)
 * that a script must not see. A script gets:
 * - the base: `PATH`, `HOME`, `LANG`, `LC_*`, `TZ`, `USER`, `LOGNAME` (from the worker's environment);
 * - the worker's `worker.env_passthrough` names (`NAME`, or `PREFIX*`);
 * - the worker's `worker.env` fixed values;
 * - the caller's extra variables (`extra`);
 * - ours, which win: `TMPDIR` (the job's private scratch folder), `PYTHONUNBUFFERED=1`,
 *   `PYTHONPATH` (generated variables first), `AUTOREDUCE_INSTRUMENT`, `AUTOREDUCE_RUN_NUMBER` and
 *   `AUTOREDUCE_EXPERIMENT` (for a job of a run), `AUTOREDUCE_OUTPUT_DIR`, `AUTOREDUCE_JOB_ID`,
 *   `AUTOREDUCE_VARS_JSON`.
 */

/** Variables every script sees (when the worker has them); a name ending in `*` is a prefix. */
export const BASE_VARIABLES = ["PATH", "HOME", "LANG", "LC_*", "TZ", "USER", "LOGNAME"] as const;

/** Where a script's environment comes from. */
export interface EnvironmentRules {
  /** `worker.env_passthrough`: more names or prefixes (`CONDA_*`) taken from the worker's environment. */
  passthrough: readonly string[];
  /** `worker.env`: fixed values. */
  fixed: Readonly<Record<string, string>>;
}

/** What the job sets (these win over everything else). */
export interface JobVariables {
  instrument: string;
  /** The run's number; absent for a job that is not a run's (a watch step). */
  runNumber?: number | undefined;
  /** The run's experiment; absent for a job that is not a run's. */
  experiment?: string | undefined;
  outputDir: string;
  jobId: string;
  /** The job's private temporary folder. */
  tmpDir: string;
  /** Folders put first on PYTHONPATH (generated variables, the script's folder). */
  pythonPath: readonly string[];
  /** `reduce_vars.json` of the job. */
  varsJson: string;
  /** More variables from the caller; below ours, above the inherited ones. */
  extra?: Readonly<Record<string, string>> | undefined;
}

/** True when `name` is matched by a rule (`NAME` exactly, or `PREFIX*`). */
export function matchesRule(name: string, rule: string): boolean {
  return rule.endsWith("*") ? name.startsWith(rule.slice(0, -1)) : name === rule;
}

/** The environment of one script, from the worker's environment `source` and the rules. */
export function scriptEnvironment(
  source: Readonly<Record<string, string | undefined>>,
  rules: EnvironmentRules,
  job: JobVariables,
  delimiter = ":",
): Record<string, string> {
  const allowed = [...BASE_VARIABLES, ...rules.passthrough];
  const env: Record<string, string> = {};
  // Names first, values only for the names let through: each read of a `process.env` value is
  // a call into the C library (getenv), and a worker's environment has dozens of names that a
  // script never gets. `Object.entries` read every one of them on every job.
  for (const name of Object.keys(source)) {
    if (!allowed.some((rule) => matchesRule(name, rule))) continue;
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, rules.fixed, job.extra);
  const inheritedPythonPath = env.PYTHONPATH;
  return {
    ...env,
    TMPDIR: job.tmpDir,
    PYTHONUNBUFFERED: "1",
    PYTHONPATH: [...job.pythonPath, inheritedPythonPath].filter(Boolean).join(delimiter),
    AUTOREDUCE_INSTRUMENT: job.instrument,
    ...(job.runNumber !== undefined ? { AUTOREDUCE_RUN_NUMBER: String(job.runNumber) } : {}),
    ...(job.experiment !== undefined ? { AUTOREDUCE_EXPERIMENT: job.experiment } : {}),
    AUTOREDUCE_OUTPUT_DIR: job.outputDir,
    AUTOREDUCE_JOB_ID: job.jobId,
    AUTOREDUCE_VARS_JSON: job.varsJson,
  };
}
