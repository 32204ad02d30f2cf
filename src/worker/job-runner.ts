import { appendFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import type { Config } from "../config/load-config.ts";
import { formatBytes } from "../config/memory-size.ts";
import type { ExecutionHandle, ExecutionResult, Executor } from "../executors/executor.ts";
import { InfrastructureError } from "../failures/infrastructure-error.ts";
import type { Logger } from "../logging/logger.ts";
import type { ReductionJob } from "../messages/reduction-job.ts";
import type { StatusReportFields } from "../messages/status-report.ts";
import type { ReduceVarsModule } from "../scripts/python-literal.ts";
import { locateScript, scriptPresent } from "../scripts/script-location.ts";
import { prepareScriptRun, type ScriptRun } from "../scripts/script-run.ts";
import { additionalOutputDirs, type ScriptWorkspace } from "../scripts/script-workspace.ts";
import { checkBeforeRun } from "./job-checks.ts";
import { LEDGER_FOLDER, LedgerKeeper, ledgerPath } from "./job-ledger.ts";
import { copyToAdditionalDirs } from "./output-files.ts";
import { infrastructureFault, isDiskFullCode } from "./retry-plan.ts";
import { agentKillLine, type JobOutcome, judgeOutcome, limitKill } from "./success-policy.ts";
import type { WorkerSettings } from "./worker-settings.ts";

/** Bytes of stderr read to judge a script (the end of the file; SNS reads it all). */
const STDERR_READ_LIMIT = 1 << 20;

export interface JobRunnerDeps {
  config: Config;
  executor: Executor;
  settings: WorkerSettings;
  log: Logger;
  host: string;
  report: (destination: string, body: StatusReportFields) => Promise<void>;
  /** Called with the handle once the script runs, and with null when it ended. */
  running: (handle: ExecutionHandle | null) => void;
}

/**
 * How one job ended at this worker:
 * - `reported`: a final report (COMPLETE, ERROR, DISABLED) was sent;
 * - `not_started`: the job could not start, or failed, for a reason that is not the script's
 *   fault (a full disk included); it is retried;
 * - `interrupted`: the worker is stopping and ended the script; the job goes back to the queue;
 * - `refused`: a path lies outside this worker's roots (seen just before the start); never run.
 */
export type JobEnd =
  | { kind: "reported" }
  | { kind: "not_started"; problem: string; report: StatusReportFields }
  | { kind: "interrupted"; report: StatusReportFields }
  | { kind: "refused"; reason: string; report: StatusReportFields };

/**
 * The fields every report about a job starts with: the job's body exactly as it came (every key,
 * unknown ones included, with the sender's values and types: `"30892"` stays a string, `eqsans`
 * lower case, as the SNS agent echoes them), then `information` (this host, as the agent) and ours.
 */
export function reportBase(
  echo: Record<string, unknown>,
  host: string,
  attempt: number,
  executor: string,
): StatusReportFields {
  const { retry: _retry, ...fields } = echo;
  return { ...(fields as StatusReportFields), information: host, host, attempt, executor };
}

/**
 * Runs one job whose slot has been granted: checks, STARTED, the script under limits, the verdict.
 * `echo` is the job's body as received (see `reportBase`); the decisions use the parsed `job`.
 * `ledgerKey` names this copy of the job in the job ledger (see `job-ledger.ts`).
 */
export async function runJob(
  deps: JobRunnerDeps,
  job: ReductionJob,
  echo: Record<string, unknown>,
  attempt: number,
  isStopping: () => boolean,
  ledgerKey: string,
): Promise<JobEnd> {
  const { config } = deps;
  const where = locateScript(config, job);
  const base = reportBase(echo, deps.host, attempt, deps.executor.kind);
  // A job with a recorded script runs that text; otherwise (an SNS workflow manager's job) the
  // script file's presence decides, as at SNS.
  if (!job.script && !scriptPresent(where.script)) {
    await reportDisabled(deps, base, where.script);
    return { kind: "reported" };
  }
  const logDir = join(where.outputDir, "reduction_log");
  const check = checkBeforeRun(job.data_file, [where.outputDir, logDir], where.interpreter, {
    archive: config.archive.roots,
    output: [config.output.root],
  });
  if (check?.kind === "refuse") return { kind: "refused", reason: check.reason, report: base };
  if (check) return { kind: "not_started", problem: check.problem, report: base };
  const logs = {
    log_file: join(logDir, `${basename(job.data_file)}.log`),
    err_file: join(logDir, `${basename(job.data_file)}.err`),
  };
  const withLogs = { ...base, ...logs, output_dir: where.outputDir, pid: process.pid };
  const startedAt = new Date();
  const ledger = new LedgerKeeper(ledgerPath(where.outputDir, job.data_file), ledgerKey, deps.host, (e) =>
    deps.log.warn(
      { err: e, job_id: job.job_id },
      "cannot write the job ledger; a re-delivered copy may run again",
    ),
  );
  let run: ScriptRun;
  try {
    run = prepareScriptRun(config, {
      jobId: job.job_id ?? "",
      instrument: job.instrument,
      script: job.script ?? { path: where.script },
      invocation: { convention: where.convention, dataFile: job.data_file, outputDir: where.outputDir },
      variables: job.variables as ReduceVarsModule | undefined,
      outputDir: where.outputDir,
      logFiles: { stdout: logs.log_file, stderr: logs.err_file },
      interpreter: where.interpreter,
      env: { AUTOREDUCE_RUN_NUMBER: String(job.run_number), AUTOREDUCE_EXPERIMENT: job.ipts },
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!isDiskFullCode(code)) throw e;
    return { kind: "not_started", problem: `cannot prepare the job's workspace: ${String(e)}`, report: base };
  }
  // Started only once nothing can throw before the `finally` that ends it: a ledger left
  // `running` (and touched) would hold every copy of the job back for good.
  ledger.start();
  let reported = false;
  try {
    let handle: ExecutionHandle;
    try {
      handle = await deps.executor.start(run.spec);
    } catch (e) {
      // The machine could not start it (ExecutionStartError): retried with backoff, not the script's fault.
      if (!(e instanceof InfrastructureError)) throw e;
      return { kind: "not_started", problem: e.message, report: withLogs };
    }
    await deps.report(config.queues.reduction_started, {
      ...withLogs,
      started_at: startedAt.toISOString(),
    });
    deps.running(handle);
    deps.log.info(
      { job_id: job.job_id, instrument: job.instrument, run: job.run_number, pid: handle.id },
      "reduction started",
    );
    const result = await handle.wait().finally(() => deps.running(null));
    if (isStopping() && result.cancelReason) return { kind: "interrupted", report: withLogs };
    const killLine = config.worker.sns_compatible ? agentKill(result, run, logs.err_file) : null;
    const stderr = await deps.executor.readLogEnd(logs.err_file, STDERR_READ_LIMIT);
    const outcome = judgeOutcome(
      { ...result, killLine, stderr, stdoutTail: result.stdoutTail },
      deps.settings.rules(job.instrument).policy,
    );
    // A person's cancel and a limit are verdicts of their own, whatever the script said.
    const judged = result.cancelReason !== null || result.killReason !== null;
    const fault = judged
      ? null
      : infrastructureFault(result.infrastructureProblem, outcome.ok ? null : stderr);
    if (fault) return { kind: "not_started", problem: fault, report: withLogs };
    await reportResult(deps, job, where, run.workspace, withLogs, result, outcome);
    reported = true;
    return { kind: "reported" };
  } finally {
    ledger.end(reported ? "reported" : "released");
    run.cleanup();
  }
}

/**
 * DISABLED: the instrument has no script. In SNS mode as the agent says it — STARTED first, then
 * DISABLED without an `error` (WebMon would count the run as failed) — else DISABLED with the path.
 */
async function reportDisabled(deps: JobRunnerDeps, base: StatusReportFields, script: string): Promise<void> {
  const { queues, worker } = deps.config;
  if (!worker.sns_compatible) {
    await deps.report(queues.reduction_disabled, { ...base, error: `no reduction script at ${script}` });
    return;
  }
  await deps.report(queues.reduction_started, base);
  await deps.report(queues.reduction_disabled, base);
  deps.log.info({ instrument: base.instrument, script }, "no reduction script: DISABLED");
}

/**
 * The agent's line for a kill at its memory or time limit, appended to the `.err` file as the
 * agent does (after our own `killed: …` line, so it is the file's last line); null otherwise.
 */
function agentKill(result: ExecutionResult, run: ScriptRun, errFile: string): string | null {
  const kill = limitKill(result, run.spec.limits);
  if (!kill) return null;
  const line = agentKillLine(kill);
  try {
    appendFileSync(errFile, `${line}\n`);
  } catch {
    // A log that cannot take the line (a full disk) does not change the verdict the ERROR carries.
  }
  return line;
}

async function reportResult(
  deps: JobRunnerDeps,
  job: ReductionJob,
  where: ReturnType<typeof locateScript>,
  workspace: ScriptWorkspace,
  fields: StatusReportFields,
  result: ExecutionResult,
  outcome: JobOutcome,
): Promise<void> {
  const { config } = deps;
  const done = {
    ...fields,
    started_at: result.startedAt.toISOString(),
    finished_at: result.finishedAt.toISOString(),
    exit_code: result.exitCode,
    peak_memory_bytes: result.usage.peakMemoryBytes,
  };
  if (outcome.ok) {
    // The job ledgers' hidden folder (a file per run) is the workers' business, not the script's
    // output: not even looked into, or every job would stat every earlier run's ledger.
    const output_files = await deps.executor.listOutput(where.outputDir, result.startedAt, [LEDGER_FOLDER]);
    const information = [outcome.information, logCutNote(result)].filter(Boolean).join("; ");
    const extra =
      where.convention === "isis"
        ? copyToAdditionalDirs(output_files, where.outputDir, additionalOutputDirs(workspace))
        : [];
    // The agent deletes the .err of a successful run; its .log stays.
    const { err_file: errFile, ...kept } = done;
    if (config.worker.sns_compatible && errFile) rmSync(errFile, { force: true });
    await deps.report(config.queues.reduction_complete, {
      ...(config.worker.sns_compatible ? kept : done),
      ...(information ? { information } : {}),
      output_files,
      ...(extra.length ? { additional_output_dirs: extra } : {}),
      log_tail: result.stdoutTail.join("\n"),
    });
  } else {
    await deps.report(config.queues.reduction_error, {
      ...done,
      error: outcome.error,
      log_tail: result.stderrTail.join("\n"),
    });
  }
  deps.log.info({ job_id: job.job_id, ok: outcome.ok, exit_code: result.exitCode }, "reduction finished");
}

/** Says which logs were cut to `log_limit` and by how much; null when none was. */
function logCutNote(result: ExecutionResult): string | null {
  if (result.logCuts.length === 0) return null;
  const cuts = result.logCuts.map((c) => `${formatBytes(c.cutBytes)} of ${c.stream}`).join(" and ");
  return `log truncated to worker.log_limit: ${cuts} cut from the middle`;
}
