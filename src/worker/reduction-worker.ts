import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { instrumentSettings, scriptFolder } from "../config/instrument-settings.ts";
import { readJobKey } from "../config/job-key.ts";
import type { Config } from "../config/load-config.ts";
import type { ExecutionHandle, Executor } from "../executors/executor.ts";
import { type Backoff, backoffDelay, sleep } from "../failures/backoff.ts";
import type { Logger } from "../logging/logger.ts";
import { CancelSchema } from "../messages/cancel.ts";
import { CreateScriptSchema } from "../messages/create-script.ts";
import { messageBody } from "../messages/message-body.ts";
import { type ReductionJob, type ReductionJobFields, ReductionJobSchema } from "../messages/reduction-job.ts";
import { ServiceStatusSchema } from "../messages/service-status.ts";
import { type StatusReportFields, StatusReportSchema } from "../messages/status-report.ts";
import { locateScript } from "../scripts/script-location.ts";
import { createScript } from "../scripts/script-writer.ts";
import { parseOrReject, sendToErrorQueue } from "../transport/error-queue.ts";
import type { IncomingMessage, Subscription, Transport } from "../transport/transport.ts";
import { agentIntakeProblem } from "./agent-intake.ts";
import { acceptJob } from "./job-acceptance.ts";
import { judgeLedger, type LedgerVerdict, ledgerPath, processAlive, readLedger } from "./job-ledger.ts";
import { type JobEnd, runJob } from "./job-runner.ts";
import { planRetry } from "./retry-plan.ts";
import { SlotScheduler, SlotWithdrawn } from "./slot-scheduler.ts";
import { templateValueRefusal } from "./template-values.ts";
import { WorkerExecutors } from "./worker-executors.ts";
import { WorkerSettings } from "./worker-settings.ts";

export interface WorkerDeps {
  config: Config;
  transport: Transport;
  log: Logger;
  /** The executor for `worker.executor` (default: a new one from the registry). */
  executor?: Executor;
  /** Host name reported in `information` (default: this machine's). */
  host?: string;
}

/** Between tries of sending a report: 0.5, 1, 2, 4 s (five tries in all). */
const REPORT_RETRY: Backoff = { initialMs: 500, maxMs: 4_000 };

/** Thrown by a job handler to give its message back to the queue (the worker is stopping). */
class HandedBack extends Error {
  override readonly name = "HandedBack";
}

/**
 * The worker's lifecycle:
 * - `running`: takes jobs from its queues and runs them;
 * - `stopping`: takes no new jobs; running ones may finish within the grace period, then are
 *   ended and handed back; jobs waiting for a slot are handed back at once;
 * - `stopped`: nothing runs, the executor is closed.
 */
export type WorkerState = "running" | "stopping" | "stopped";

/** How often a job that runs at another worker (by the job ledger) is looked at again. */
const LEDGER_RECHECK_MS = 500;

/**
 * Runs reductions. It takes a job from its queues when it can use it (its free slots plus a
 * small `hold` of waiting jobs), starts it when the limits allow (`SlotScheduler`: max_procs, per
 * instrument in run order, one per experiment where asked), runs the script through the executor
 * under memory/time/stall limits and reports STARTED, then COMPLETE / ERROR / DISABLED. A job
 * that cannot start for reasons that are not the script's fault is reported RETRYING and sent
 * again later with a growing delay. The message is acknowledged only after the final report, so
 * a worker that dies loses nothing: the job is delivered again. Reports go through the transport
 * only; the worker never touches the state database.
 */
export class ReductionWorker {
  private readonly subscriptions: Subscription[] = [];
  private readonly services: Subscription[] = [];
  /** Jobs cancelled before they reached this worker (bounded: old entries are forgotten). */
  private readonly cancelled = new Set<string>();
  /** Jobs (by id and attempt) running here now, and recently finished here (bounded). */
  private readonly inProgress = new Map<string, Promise<void>>();
  private readonly finished = new Set<string>();
  private readonly running = new Map<string, ExecutionHandle>();
  private readonly executors: WorkerExecutors;
  private readonly host: string;
  private readonly settings: WorkerSettings;
  private readonly scheduler: SlotScheduler;
  /** The key the coordinator signs jobs with (`security.job_key_file`). */
  private readonly jobKey: Buffer;
  private state: WorkerState = "running";
  private nextLocalKey = 0;

  private constructor(private readonly deps: WorkerDeps) {
    this.executors = new WorkerExecutors(deps.config.worker.executor, deps.executor);
    this.host = deps.host ?? hostname();
    this.settings = new WorkerSettings(deps.config);
    const key = readJobKey(deps.config);
    if (key.generated)
      deps.log.warn(
        { file: key.file },
        "created a new job key; the coordinator and every worker need this same file",
      );
    this.jobKey = key.key;
    this.scheduler = new SlotScheduler({
      maxProcs: deps.config.worker.max_procs,
      perInstrument: (i) => this.settings.perInstrument(i),
      onePerExperiment: (i) => this.settings.rules(i).onePerExperiment,
    });
  }

  static async start(deps: WorkerDeps): Promise<ReductionWorker> {
    const worker = new ReductionWorker(deps);
    const { config, transport } = deps;
    const prefetch = config.worker.max_procs + worker.settings.hold;
    for (const queue of worker.settings.queues) {
      worker.subscriptions.push(await transport.subscribe(queue, (m) => worker.onJob(m), { prefetch }));
    }
    worker.services.push(
      await transport.subscribe(config.queues.cancel, (m) => worker.onCancel(m)),
      await transport.subscribe(config.queues.create_script, (m) => worker.onCreateScript(m)),
    );
    deps.log.info(
      { queues: worker.settings.queues, max_procs: config.worker.max_procs, prefetch },
      "worker started",
    );
    return worker;
  }

  /** What the worker is doing, for heartbeats and status. */
  status() {
    const { running, waiting } = this.scheduler.state;
    return {
      state: this.state,
      slots: this.deps.config.worker.max_procs,
      running,
      waiting,
      queues: this.settings.queues,
      executor: this.deps.config.worker.executor,
    };
  }

  /**
   * Stops taking work, hands waiting jobs back, and lets running reductions finish for up to
   * `graceMs`; after that they are ended and handed back to the queue, to run again elsewhere.
   */
  async stop(graceMs = this.deps.config.worker.stop_grace_seconds * 1000): Promise<void> {
    if (this.state !== "running") return;
    this.state = "stopping";
    this.scheduler.withdrawAll("the worker is stopping");
    const timer = setTimeout(() => {
      for (const handle of this.running.values())
        handle.cancel("worker stopped; the job is handed back").catch(() => {});
    }, graceMs);
    await Promise.all(this.services.map((s) => s.unsubscribe()));
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe()));
    clearTimeout(timer);
    await this.executors.close();
    this.state = "stopped";
  }

  private async onJob(message: IncomingMessage): Promise<void> {
    const { config, transport, log } = this.deps;
    const echo = bodyObject(message.body);
    if (echo && config.worker.sns_compatible) {
      const problem = agentIntakeProblem(echo, config.archive.roots);
      if (problem) {
        // As the agent: POSTPROCESS.ERROR at once, with the job's fields and this host.
        await sendToErrorQueue(transport, config.queues.postprocess_error, message, problem, {
          information: this.host,
        });
        log.warn({ message_id: message.id, problem }, "job refused (SNS intake): sent to the error queue");
        return;
      }
    }
    const job = await parseOrReject(transport, config.queues.postprocess_error, message, ReductionJobSchema);
    if (!job || !echo) {
      log.warn({ message_id: message.id }, "job refused: sent to the error queue");
      return;
    }
    // Judged by this worker's own configuration before anything else looks at the job's paths.
    const acceptance = acceptJob(job, config, this.jobKey);
    if (acceptance.kind === "refuse") {
      await this.refuse(job, message, acceptance.reason, {
        ...(echo as StatusReportFields),
        information: this.host,
      });
      return;
    }
    if (this.state !== "running") throw new HandedBack("the worker is stopping");
    // A broker connection lost while a job runs makes the broker deliver the job again, to us or
    // to another worker. Here it is the same job: wait for the run in progress, or (finished) just
    // take the copy off the queue, rather than run the script twice.
    const copyKey = job.job_id ? `${job.job_id}#${job.retry?.attempt ?? 1}` : `message:${message.id}`;
    const inProgress = this.inProgress.get(copyKey);
    if (inProgress || this.finished.has(copyKey)) {
      log.info(
        { job_id: job.job_id, message_id: message.id },
        "job delivered again while it runs or after it ran here; not run twice",
      );
      await inProgress?.catch(() => {});
      if (this.state !== "running" && inProgress) throw new HandedBack("the worker is stopping");
      return;
    }
    const done = this.runOnce(job, echo, message, copyKey);
    this.inProgress.set(copyKey, done);
    try {
      await done;
      this.finished.add(copyKey);
      if (this.finished.size > 10_000) this.finished.delete(this.finished.values().next().value as string);
    } finally {
      this.inProgress.delete(copyKey);
    }
  }

  /**
   * Consults the job ledger (see `job-ledger.ts`): waits while another worker runs this copy of
   * the job, and returns true if one has reported it already, so that it is not run twice.
   */
  private async ranElsewhere(job: ReductionJob, copyKey: string): Promise<boolean> {
    const { log } = this.deps;
    for (let waited = false; ; waited = true) {
      const verdict = this.ledgerVerdict(job, copyKey);
      if (verdict.kind === "run") return false;
      if (verdict.kind === "skip") {
        log.info(
          { job_id: job.job_id, by: verdict.by },
          "job delivered again after it was reported; not run twice",
        );
        return true;
      }
      if (!waited)
        log.info(
          { job_id: job.job_id, by: verdict.by },
          "job delivered again while it runs elsewhere; waiting",
        );
      if (this.state !== "running") throw new HandedBack("the worker is stopping");
      await new Promise((resolve) => setTimeout(resolve, LEDGER_RECHECK_MS));
    }
  }

  private ledgerVerdict(job: ReductionJob, copyKey: string): LedgerVerdict {
    const path = ledgerPath(locateScript(this.deps.config, job).outputDir, job.data_file);
    return judgeLedger(
      readLedger(path),
      copyKey,
      { host: this.host, pid: process.pid },
      Date.now(),
      processAlive,
    );
  }

  private async runOnce(
    job: ReductionJob,
    echo: Record<string, unknown>,
    message: IncomingMessage,
    copyKey: string,
  ): Promise<void> {
    const { log } = this.deps;
    const key = job.job_id ?? `local-${this.nextLocalKey++}`;
    if (this.cancelled.has(key)) {
      log.info({ job_id: key }, "job was cancelled before it started; not run");
      return;
    }
    let release: () => void;
    for (;;) {
      try {
        release = await this.scheduler.acquire({
          key,
          instrument: job.instrument.toUpperCase(),
          experiment: job.ipts.toUpperCase(),
          runNumber: job.run_number,
        });
      } catch (e) {
        if (!(e instanceof SlotWithdrawn)) throw e;
        if (this.state !== "running") throw new HandedBack(e.message);
        log.info({ job_id: key, reason: e.reason }, "waiting job withdrawn; not run");
        return;
      }
      // The job ledger (see job-ledger.ts) says whether this copy ran, or runs, at another worker
      // (a broker restart gives unacknowledged jobs out again). Looked at once the job has its
      // slot, since a job may wait here while its copy runs elsewhere; waited on without the slot.
      if (this.ledgerVerdict(job, copyKey).kind === "run") break;
      release();
      if (await this.ranElsewhere(job, copyKey)) return;
    }
    try {
      const attempt = (job.retry?.deliveries ?? 0) + message.deliveryCount;
      const end = await runJob(
        this.runnerDeps(key, job),
        job,
        echo,
        attempt,
        () => this.state !== "running",
        copyKey,
      );
      await this.afterJob(end, job, echo, message);
    } finally {
      release();
    }
  }

  /** Follows up a job that did not end in a final report: a retry, or a hand-back. */
  private async afterJob(
    end: JobEnd,
    job: ReductionJob,
    echo: Record<string, unknown>,
    message: IncomingMessage,
  ): Promise<void> {
    const { config, transport, log } = this.deps;
    if (end.kind === "reported") return;
    if (end.kind === "refused") {
      await this.refuse(job, message, end.reason, end.report);
      return;
    }
    if (end.kind === "interrupted") {
      await this.report(config.queues.reduction_retrying, {
        ...end.report,
        handed_back: true,
        error: `worker on ${this.host} stopped`,
      });
      throw new HandedBack(`job ${job.job_id ?? ""} handed back: worker stopping`);
    }
    const retry = config.worker.retry;
    const plan = planRetry(
      job.retry,
      message.deliveryCount,
      { at: new Date(), host: this.host, problem: end.problem },
      { attempts: retry.attempts, initialMs: retry.initial_seconds * 1000, maxMs: retry.max_seconds * 1000 },
    );
    if (plan.kind === "give_up") {
      await this.report(config.queues.reduction_error, {
        ...end.report,
        error: plan.error,
        retry_history: plan.history,
        finished_at: new Date().toISOString(),
      });
      log.warn({ job_id: job.job_id, problem: end.problem }, "job could not start; gave up");
      return;
    }
    // The copy is sent before the original is acknowledged: a crash in between runs it twice at
    // worst (the coordinator records one result), never loses it.
    // The body as it came (not the parsed job), so every report of the retry echoes it too.
    await transport.send(message.destination, {
      body: messageBody(ReductionJobSchema, { ...(echo as ReductionJobFields), retry: plan.next }),
      delayMs: plan.delayMs,
    });
    await this.report(config.queues.reduction_retrying, {
      ...end.report,
      error: plan.message,
      retry_at: new Date(Date.now() + plan.delayMs).toISOString(),
      retry_delay_ms: plan.delayMs,
    });
    // A job without our job_id comes from an SNS workflow manager, which does not subscribe to
    // RETRYING: WebMon shows a STARTED's `information` on the run's page, so the wait is said there.
    if (!job.job_id)
      await this.report(config.queues.reduction_started, {
        ...end.report,
        information: `${this.host}: could not start; ${plan.message}`,
      });
    log.warn(
      { job_id: job.job_id, problem: end.problem, delay_ms: plan.delayMs },
      "job could not start; retrying",
    );
  }

  /**
   * A job this worker will not run: the original goes to `POSTPROCESS.ERROR` with the reason, and
   * `REDUCTION.ERROR` tells whoever sent it (so its run does not stay queued). Then it is acked.
   */
  private async refuse(
    job: ReductionJob,
    message: IncomingMessage,
    reason: string,
    report: StatusReportFields,
  ): Promise<void> {
    const { config, transport, log } = this.deps;
    await sendToErrorQueue(transport, config.queues.postprocess_error, message, `job refused: ${reason}`);
    const body = {
      ...report,
      host: this.host,
      refused: true,
      error: `job refused by ${this.host}: ${reason}`,
    };
    delete (body as { retry?: unknown }).retry;
    await this.report(config.queues.reduction_error, { ...body, finished_at: new Date().toISOString() });
    log.warn({ job_id: job.job_id, message_id: message.id, reason }, "job refused; never run");
  }

  /**
   * A report echoes the job's body, whose extra keys may clash with a report field of ours (a
   * job with `"exit_code": "x"`): those keys are left out, so the report still goes out.
   */
  private withoutMisfits(body: StatusReportFields): StatusReportFields {
    const checked = StatusReportSchema.safeParse(body);
    if (checked.success) return body;
    const misfits = new Set(checked.error.issues.map((issue) => String(issue.path[0])));
    this.deps.log.warn({ keys: [...misfits] }, "job keys that do not fit a report left out of it");
    return Object.fromEntries(
      Object.entries(body).filter(([key]) => !misfits.has(key)),
    ) as StatusReportFields;
  }

  private runnerDeps(key: string, job: ReductionJob) {
    return {
      config: this.deps.config,
      // Acceptance has checked that the job's executor (its route's) is one of this worker's.
      executor: this.executors.get(job.executor),
      settings: this.settings,
      log: this.deps.log,
      host: this.host,
      report: (destination: string, body: StatusReportFields) => this.report(destination, body),
      running: (handle: ExecutionHandle | null) => {
        if (handle) this.running.set(key, handle);
        else this.running.delete(key);
      },
    };
  }

  /** A job was cancelled: kill it if it runs here, drop it if it waits here, else remember it. */
  private async onCancel(message: IncomingMessage): Promise<void> {
    const { config, transport } = this.deps;
    const cancel = await parseOrReject(transport, config.queues.postprocess_error, message, CancelSchema);
    if (!cancel) return;
    const { job_id: jobId, cancelled_by: by } = cancel;
    const running = this.running.get(jobId);
    if (running) await running.cancel(`cancelled by ${by}`);
    this.scheduler.withdraw(jobId, `cancelled by ${by}`);
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
    // A template is filled in as text: a value that could be code is refused (template-values.ts).
    const unsafe = templateValueRefusal(request.template_data);
    if (unsafe) await sendToErrorQueue(transport, config.queues.postprocess_error, message, unsafe);
    const result = unsafe
      ? { ok: false, status: `Error creating ${instrument} reduction script: ${unsafe}` }
      : createScript(scriptFolderOf(config, instrument), { ...request, instrument });
    log[result.ok ? "info" : "warn"]({ instrument, ok: result.ok, by: request.information }, result.status);
    const topic = config.queues.service_status.replaceAll("{instrument}", instrument);
    await transport.send(topic, {
      body: messageBody(ServiceStatusSchema, { src_id: "postprocessing", status: result.status }),
    });
  }

  /** Sends a report, retrying briefly: a lost report would make the job run again. */
  private async report(destination: string, body: StatusReportFields): Promise<void> {
    const text = messageBody(StatusReportSchema, this.withoutMisfits(body));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.transport.send(destination, { body: text });
        return;
      } catch (e) {
        if (attempt >= 5) throw e;
        this.deps.log.warn({ err: e, destination, attempt }, "report not sent; retrying");
        await sleep(backoffDelay(REPORT_RETRY, attempt));
      }
    }
  }
}

/** A message body that is one JSON object, or null. */
function bodyObject(body: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** The folder the instrument's script is in (its `script` may name another folder, e.g. HFIR's). */
function scriptFolderOf(config: Config, instrument: string): string {
  const settings = instrumentSettings(config, instrument);
  return settings
    ? dirname(resolve(settings.scriptDir, settings.scriptFile))
    : scriptFolder(config, instrument);
}
