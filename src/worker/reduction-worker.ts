import { hostname } from "node:os";
import { basename, join } from "node:path";
import type { Config } from "../config/load-config.ts";
import type { ExecutionHandle, Executor } from "../executors/executor.ts";
import { ExecutionStartError } from "../executors/executor.ts";
import { LocalExecutor } from "../executors/local-executor.ts";
import type { Logger } from "../logging/logger.ts";
import { CancelSchema } from "../messages/cancel.ts";
import { CreateScriptSchema } from "../messages/create-script.ts";
import { type ReductionJob, ReductionJobSchema } from "../messages/reduction-job.ts";
import { createScript } from "../scripts/script-writer.ts";
import { parseOrReject } from "../transport/error-queue.ts";
import type { IncomingMessage, Subscription, Transport } from "../transport/transport.ts";
import { checkBeforeRun } from "./job-checks.ts";
import { judgeExecution } from "./job-outcome.ts";
import { additionalOutputDirs, commandFor, prepareWorkspace } from "./job-workspace.ts";
import { copyToAdditionalDirs, outputFilesSince } from "./output-files.ts";
import { locateScript, scriptPresent } from "./script-location.ts";

export interface WorkerDeps {
  config: Config;
  transport: Transport;
  log: Logger;
  executor?: Executor;
  /** Host name reported in `information` (default: this machine's). */
  host?: string;
}

/** Thrown by a job handler to give its message back to the queue (the worker is stopping). */
class HandedBack extends Error {
  override readonly name = "HandedBack";
}

/**
 * Runs reductions: takes a job from the worker queue when it has a free slot, runs the
 * instrument's script through the executor, and reports STARTED, then COMPLETE or ERROR (or
 * DISABLED when there is no script). The message is acknowledged only after the final report,
 * so a worker that dies mid-reduction loses nothing: the job is delivered again.
 * Reports go through the transport only; the worker never touches the state database.
 */
export class ReductionWorker {
  private subscription: Subscription | null = null;
  private readonly services: Subscription[] = [];
  /** Jobs cancelled before they reached this worker (bounded: old entries are forgotten). */
  private readonly cancelled = new Set<string>();
  private readonly running = new Map<string, ExecutionHandle>();
  private stopping = false;
  private readonly executor: Executor;
  private readonly host: string;

  private constructor(private readonly deps: WorkerDeps) {
    this.executor = deps.executor ?? new LocalExecutor();
    this.host = deps.host ?? hostname();
  }

  static async start(deps: WorkerDeps): Promise<ReductionWorker> {
    const worker = new ReductionWorker(deps);
    const { config } = deps;
    worker.subscription = await deps.transport.subscribe(
      config.queues.reduction_data_ready,
      (m) => worker.onJob(m),
      {
        prefetch: config.worker.max_procs,
      },
    );
    worker.services.push(
      await deps.transport.subscribe(config.queues.cancel, (m) => worker.onCancel(m)),
      await deps.transport.subscribe(config.queues.create_script, (m) => worker.onCreateScript(m)),
    );
    deps.log.info(
      { queue: config.queues.reduction_data_ready, max_procs: config.worker.max_procs },
      "worker started",
    );
    return worker;
  }

  /** Reductions running now, by job id. */
  get activeJobs(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Stops taking work and lets running reductions finish for up to `graceMs`; after that they are
   * killed and their jobs handed back to the queue, to be run again by another worker.
   */
  async stop(graceMs = this.deps.config.worker.stop_grace_seconds * 1000): Promise<void> {
    this.stopping = true;
    const timer = setTimeout(() => {
      for (const handle of this.running.values())
        handle.cancel("worker stopped; the job is handed back").catch(() => {});
    }, graceMs);
    await Promise.all(this.services.map((s) => s.unsubscribe()));
    await this.subscription?.unsubscribe();
    clearTimeout(timer);
    await this.executor.close();
  }

  private async onJob(message: IncomingMessage): Promise<void> {
    const { config, transport, log } = this.deps;
    const job = await parseOrReject(transport, config.queues.postprocess_error, message, ReductionJobSchema);
    if (!job) {
      log.warn({ message_id: message.id }, "job refused: sent to the error queue");
      return;
    }
    if (job.job_id && this.cancelled.has(job.job_id)) {
      log.info({ job_id: job.job_id }, "job was cancelled before it started; not run");
      return;
    }
    const base = { ...job, information: this.host, host: this.host, attempt: message.deliveryCount };
    const where = locateScript(config, job);
    // A job with a recorded script runs that text; otherwise (an SNS workflow manager's job) the
    // script file's presence decides, as at SNS.
    if (!job.script && !scriptPresent(where.script)) {
      await this.report(config.queues.reduction_disabled, {
        ...base,
        error: `no reduction script at ${where.script}`,
      });
      return;
    }
    const logDir = join(where.outputDir, "reduction_log");
    const problem = checkBeforeRun(job.data_file, [where.outputDir, logDir], where.interpreter);
    if (problem) {
      await this.report(config.queues.reduction_error, {
        ...base,
        error: problem,
        finished_at: new Date().toISOString(),
      });
      return;
    }
    const logs = {
      log_file: join(logDir, `${basename(job.data_file)}.log`),
      err_file: join(logDir, `${basename(job.data_file)}.err`),
    };
    await this.runScript(job, base, where, logs);
  }

  private async runScript(
    job: ReductionJob,
    base: Record<string, unknown>,
    where: ReturnType<typeof locateScript>,
    logs: { log_file: string; err_file: string },
  ): Promise<void> {
    const { config, log } = this.deps;
    const startedAt = new Date();
    const reportBase = { ...base, ...logs, output_dir: where.outputDir, pid: process.pid };
    await this.report(config.queues.reduction_started, {
      ...reportBase,
      started_at: startedAt.toISOString(),
    });
    const key = job.job_id ?? `${job.instrument}:${job.run_number}:${startedAt.getTime()}`;
    const workspace = prepareWorkspace({ ...job, convention: where.convention }, where.script);
    try {
      const { command, args } = commandFor(
        { ...job, convention: where.convention },
        workspace,
        where.interpreter,
        where.outputDir,
      );
      let handle: ExecutionHandle;
      try {
        handle = await this.executor.start({
          command,
          args,
          cwd: where.outputDir,
          env: { ...scriptEnvironment(job, where.outputDir), ...workspace.env },
          stdoutFile: logs.log_file,
          stderrFile: logs.err_file,
          tailLines: config.worker.log_tail_lines,
        });
      } catch (e) {
        if (!(e instanceof ExecutionStartError)) throw e;
        await this.report(config.queues.reduction_error, {
          ...reportBase,
          error: e.message,
          finished_at: new Date().toISOString(),
        });
        return;
      }
      this.running.set(key, handle);
      log.info(
        { job_id: job.job_id, instrument: job.instrument, run: job.run_number, pid: handle.id },
        "reduction started",
      );
      const result = await handle.wait().finally(() => this.running.delete(key));
      if (this.stopping && result.cancelReason)
        throw new HandedBack(`job ${key} handed back: worker stopping`);
      const outcome = judgeExecution(result);
      const done = {
        ...reportBase,
        started_at: result.startedAt.toISOString(),
        finished_at: result.finishedAt.toISOString(),
        exit_code: result.exitCode,
      };
      if (outcome.ok) {
        const output_files = outputFilesSince(where.outputDir, result.startedAt);
        const extra =
          where.convention === "isis"
            ? copyToAdditionalDirs(output_files, where.outputDir, additionalOutputDirs(workspace))
            : [];
        await this.report(config.queues.reduction_complete, {
          ...done,
          output_files,
          ...(extra.length ? { additional_output_dirs: extra } : {}),
          log_tail: result.stdoutTail.join("\n"),
        });
      } else {
        await this.report(config.queues.reduction_error, {
          ...done,
          error: outcome.error,
          log_tail: result.stderrTail.join("\n"),
        });
      }
      log.info({ job_id: job.job_id, ok: outcome.ok, exit_code: result.exitCode }, "reduction finished");
    } finally {
      workspace.remove();
    }
  }

  /** A job was cancelled: kill it if it runs here, else remember not to start it. */
  private async onCancel(message: IncomingMessage): Promise<void> {
    const { config, transport } = this.deps;
    const cancel = await parseOrReject(transport, config.queues.postprocess_error, message, CancelSchema);
    if (!cancel) return;
    const { job_id: jobId, cancelled_by: by } = cancel;
    const running = this.running.get(jobId);
    if (running) await running.cancel(`cancelled by ${by}`);
    this.cancelled.add(jobId);
    if (this.cancelled.size > 10_000) this.cancelled.delete(this.cancelled.values().next().value as string);
  }

  /** `REDUCTION.CREATE_SCRIPT` (SNS): writes an instrument's script from its template; publishes the result. */
  private async onCreateScript(message: IncomingMessage): Promise<void> {
    const { config, transport, log } = this.deps;
    const request = await parseOrReject(
      transport,
      config.queues.postprocess_error,
      message,
      CreateScriptSchema,
    );
    if (!request) return;
    const instrument = request.instrument.toUpperCase();
    const result = createScript(join(config.scripts.root, instrument), { ...request, instrument });
    log[result.ok ? "info" : "warn"]({ instrument, ok: result.ok, by: request.information }, result.status);
    const topic = config.queues.service_status.replaceAll("{instrument}", instrument);
    await transport.send(topic, {
      body: JSON.stringify({ src_id: "postprocessing", status: result.status }),
    });
  }

  /** Sends a report, retrying briefly: a lost report would make the job run again. */
  private async report(destination: string, body: Record<string, unknown>): Promise<void> {
    const text = JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.transport.send(destination, { body: text });
        return;
      } catch (e) {
        if (attempt >= 5) throw e;
        this.deps.log.warn({ err: e, destination, attempt }, "report not sent; retrying");
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  }
}

function scriptEnvironment(job: ReductionJob, outputDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return {
    ...env,
    PYTHONUNBUFFERED: "1",
    AUTOREDUCE_INSTRUMENT: job.instrument,
    AUTOREDUCE_RUN_NUMBER: String(job.run_number),
    AUTOREDUCE_EXPERIMENT: job.ipts,
    AUTOREDUCE_OUTPUT_DIR: outputDir,
    AUTOREDUCE_JOB_ID: job.job_id ?? "",
  };
}
