import { readJobKey } from "../config/job-key.ts";
import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { createdChange, type ReductionChange, transitionChange } from "../messages/change-event.ts";
import { signJob } from "../messages/job-signature.ts";
import { messageBody } from "../messages/message-body.ts";
import { InvalidMessageError } from "../messages/message-error.ts";
import { ReductionJobSchema } from "../messages/reduction-job.ts";
import { StatusReportSchema } from "../messages/status-report.ts";
import { readNexusMetadata } from "../nexus/nexus-metadata.ts";
import { ChangePublisher } from "../service/change-publisher.ts";
import { waitOutOutages } from "../store/database-outage.ts";
import { asReduction } from "../store/job-store.ts";
import {
  applyReport,
  findJobForReport,
  markDispatched,
  reductionWithRunFacts,
  UnknownJobError,
  undispatchedReductions,
} from "../store/reduction-store.ts";
import { type RecordResult, type ReductionRow, recordReadyRun } from "../store/run-store.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { parseOrReject, sendToErrorQueue } from "../transport/error-queue.ts";
import type { IncomingMessage, Subscription, Transport } from "../transport/transport.ts";
import { type AcceptedDataReady, acceptDataReady } from "./data-ready-intake.ts";
import { jobFor, jobTooLarge } from "./job-audience.ts";
import { jobMessage } from "./job-message.ts";
import { JobRouter } from "./job-router.ts";
import { decideNoticeConflict } from "./notice-conflict.ts";
import { outputDirFor } from "./output-location.ts";
import { type Report, statusAfter } from "./reduction-lifecycle.ts";
import { ReductionSweeper, withEarlierAttempts } from "./reduction-sweeper.ts";
import { reportedAttempt, reportFields } from "./report-fields.ts";
import { RerunHandler } from "./rerun-handler.ts";
import type { Route } from "./routing.ts";
import { ScriptCatalog } from "./script-catalog.ts";
import { planVersion } from "./version-plan.ts";

/** The run-event destination of a job the coordinator refused to send (a run's timeline shows it). */
export const DISPATCH_EVENT = "dispatch";

/** The run facts a fresh DATA_READY gives for its first job (saves reading them back). */
type DispatchFacts = Parameters<typeof jobMessage>[0] & {
  title: string | null;
  metadata: Record<string, unknown>;
};

export type { ReductionChange } from "../messages/change-event.ts";

export interface CoordinatorDeps {
  config: Config;
  database: SqlDatabase;
  transport: Transport;
  log: Logger;
  onChange?: (change: ReductionChange) => void;
}

/**
 * Owns the state database. Turns each DATA_READY into a run and a new reduction version and sends
 * the job to the workers; records every worker report and moves the reduction along its lifecycle.
 * Every handler is idempotent: a redelivered message is recognised by its id and changes nothing.
 */
export class Coordinator {
  private subscriptions: Subscription[] = [];
  private readonly catalog: ScriptCatalog;
  private readonly reruns: RerunHandler;
  private readonly router: JobRouter;
  private readonly sweeper: ReductionSweeper;
  private readonly feed: ChangePublisher;
  private stopping = false;
  /** Signs every job sent (`security.job_key_file`), so that workers run its stored script. */
  private readonly jobKey: Buffer;

  private constructor(private readonly deps: CoordinatorDeps) {
    const key = readJobKey(deps.config);
    if (key.generated)
      deps.log.warn({ file: key.file }, "created a new job key; every worker needs this same file");
    this.jobKey = key.key;
    this.catalog = new ScriptCatalog(deps.config);
    this.router = new JobRouter(deps.config, deps.database);
    this.feed = new ChangePublisher(deps.transport, deps.config, deps.log);
    this.reruns = new RerunHandler({
      ...deps,
      catalog: this.catalog,
      dispatch: (r) => this.dispatch(r),
      changed: (c) => this.changed(c),
      jobKey: this.jobKey,
    });
    this.sweeper = new ReductionSweeper({
      ...deps,
      dispatch: (r) => this.dispatch(r),
      changed: (c) => this.changed(c),
    });
  }

  static async start(deps: CoordinatorDeps): Promise<Coordinator> {
    const coordinator = new Coordinator(deps);
    await coordinator.resendUndispatched();
    const { transport, config } = deps;
    const q = config.queues;
    const reports: Array<[string, Report]> = [
      [q.reduction_started, "started"],
      [q.reduction_retrying, "retrying"],
      [q.reduction_complete, "complete"],
      [q.reduction_error, "error"],
      [q.reduction_disabled, "disabled"],
    ];
    const consume = async (destination: string, handle: (m: IncomingMessage) => Promise<void>) => {
      const what = `handling a message from ${destination}`;
      const stopping = () => coordinator.stopping;
      coordinator.subscriptions.push(
        await transport.subscribe(destination, (m) =>
          waitOutOutages(() => handle(m), { log: deps.log, what, stopping }),
        ),
      );
    };
    for (const [destination, kind] of reports)
      await consume(destination, (m) => coordinator.onReport(kind, m));
    await consume(q.data_ready, (m) => coordinator.onDataReady(m));
    await consume(q.reduction_request, (m) => coordinator.reruns.handle(m));
    coordinator.sweeper.start();
    deps.log.info({ queues: [q.data_ready, ...reports.map((r) => r[0])] }, "coordinator started");
    return coordinator;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.sweeper.stop();
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe()));
    this.subscriptions = [];
    await this.feed.flush();
  }

  /**
   * Call after every committed status change of a reduction, whoever made it (report, re-run,
   * sweeper): shows it in `serve` and publishes it on the change feed. Does not wait for the
   * broker; never throws.
   */
  changed(change: ReductionChange): void {
    this.deps.onChange?.(change);
    void this.feed.publish({ subject: "job", kind: "reduction", ...change });
  }

  private async onDataReady(message: IncomingMessage): Promise<void> {
    const { config, log } = this.deps;
    let accepted: AcceptedDataReady;
    try {
      accepted = acceptDataReady(message.body, config);
      // Throws if the names would lead outside output.root; a skipped run gets no folder.
      if (accepted.skip_reason === null) outputDirFor(config, accepted, 0);
    } catch (e) {
      if (!(e instanceof InvalidMessageError)) throw e;
      await this.refuseDataReady(message, e.reason);
      return;
    }
    const metadata = accepted.metadata ?? {};
    const text = (key: string) => (typeof metadata[key] === "string" ? (metadata[key] as string) : null);
    let result = await this.recordNotice(message, accepted, "refuse");
    if (result.kind === "conflict") {
      const identity = {
        instrument: accepted.instrument,
        experiment: accepted.ipts,
        runNumber: accepted.run_number,
      };
      const fileRun = await fileRunNumber(accepted.data_file);
      const decision = decideNoticeConflict(accepted.data_file, identity, result.conflicts, fileRun);
      if (decision.action === "refuse") {
        await this.refuseDataReady(message, decision.reason);
        return;
      }
      log.warn({ message_id: message.id }, decision.note);
      result = await this.recordNotice(message, accepted, "record");
    }
    const reduction = result.reduction;
    if (!reduction) return;
    if (result.kind === "duplicate") {
      log.info({ job_id: reduction.job_id, message_id: message.id }, "DATA_READY already recorded");
    } else {
      this.changed(createdChange(accepted, reduction));
    }
    if (reduction.status === "queued" && reduction.dispatched_at === null) {
      await this.dispatch(reduction, { ...accepted, title: text("title"), metadata });
    }
  }

  private async refuseDataReady(message: IncomingMessage, reason: string): Promise<void> {
    const { config, log, transport } = this.deps;
    log.warn({ reason, message_id: message.id }, "DATA_READY refused");
    await sendToErrorQueue(transport, config.queues.postprocess_error, message, reason);
  }

  /**
   * Records an accepted DATA_READY. An automatic notice is recognised by content and identity;
   * the same content under another identity is a conflict, settled by `onConflict`.
   */
  private async recordNotice(
    message: IncomingMessage,
    accepted: AcceptedDataReady,
    onConflict: "record" | "refuse",
  ): Promise<RecordResult> {
    const { config, database } = this.deps;
    const metadata = accepted.metadata ?? {};
    const manual = accepted.started_by?.startsWith("submit") ?? false;
    const text = (key: string) => (typeof metadata[key] === "string" ? (metadata[key] as string) : null);
    const skipped = accepted.skip_reason;
    const plan = skipped
      ? { initial: { status: "skipped" as const, message: skipped } }
      : await planVersion(
          { config, database, catalog: this.catalog },
          {
            instrument: accepted.instrument,
            facility: accepted.facility,
            experiment: accepted.ipts,
            runNumber: accepted.run_number,
            scriptCheck: await this.router.scriptCheck({
              instrument: accepted.instrument,
              dataFile: accepted.data_file,
              title: text("title"),
              metadata,
            }),
          },
        );
    return recordReadyRun(database, {
      facility: accepted.facility,
      instrument: accepted.instrument,
      experiment: accepted.ipts,
      runNumber: accepted.run_number,
      dataFile: accepted.data_file,
      title: text("title"),
      startTime: text("start_time"),
      endTime: text("end_time"),
      metadata,
      messageId: message.id,
      destination: message.destination,
      body: message.body,
      // A person's submit always makes a new version; an automatic notice is recognised by content.
      dedupeKey: manual ? null : (accepted.dedupe_key ?? accepted.content_key),
      onConflict: () => onConflict,
      reason: manual ? "manual" : "automatic",
      startedBy: accepted.started_by ?? null,
      outputDir: (version) => (skipped ? null : outputDirFor(config, accepted, version)),
      ...plan,
    });
  }

  /**
   * Sends a reduction's job to the queue its run is routed to, in the form the route's workers
   * take (`jobFor`), and records where it went. A job too large for them is not sent: the
   * reduction is marked `error` with the reason (`jobTooLarge`).
   */
  private async dispatch(reduction: ReductionRow, run?: DispatchFacts): Promise<void> {
    const { database, transport } = this.deps;
    const facts = run
      ? { job: jobMessage(run, reduction), title: run.title, metadata: run.metadata }
      : await reductionWithRunFacts(database, reduction.id).then((f) => ({
          job: jobMessage(f.run, f.reduction),
          title: f.title,
          metadata: f.metadata,
        }));
    const route = await this.router.route({
      instrument: facts.job.instrument,
      dataFile: facts.job.data_file,
      title: facts.title,
      metadata: facts.metadata,
    });
    // The route's executor travels by name only, under the signature; a worker runs it only if it has it.
    const job = jobFor(
      route.executor ? { ...facts.job, executor: route.executor } : facts.job,
      route.workers,
    );
    const body = messageBody(
      ReductionJobSchema,
      signJob(withEarlierAttempts(job, reduction.attempts), this.jobKey),
    );
    const tooLarge = jobTooLarge(body, route.workers);
    if (tooLarge) {
      await this.refuseDispatch(reduction, route, tooLarge, facts.job);
      return;
    }
    const messageId = await transport.send(route.queue, { body });
    if (route.rule)
      this.deps.log.info(
        { job_id: reduction.job_id, route: route.rule, queue: route.queue, executor: route.executor },
        "routed",
      );
    await markDispatched(
      database,
      reduction,
      { messageId: `sent:${messageId}`, destination: route.queue, body },
      route,
    );
  }

  /** Ends a reduction whose job cannot be sent as it is (see `dispatch`): `error`, with the reason on its timeline. */
  private async refuseDispatch(
    reduction: ReductionRow,
    route: Route,
    reason: string,
    run: { instrument: string; run_number: number },
  ): Promise<void> {
    const now = Date.now();
    const event = {
      messageId: `refused:${reduction.job_id}:${reduction.attempts}`,
      destination: DISPATCH_EVENT,
      body: JSON.stringify({ job_id: reduction.job_id, queue: route.queue, workers: route.workers, reason }),
    };
    const result = await applyReport(this.deps.database, reduction.id, event, (current) =>
      current.status === "queued"
        ? { status: "error", fields: { finished_at: now, retry_at: null, message: reason } }
        : null,
    );
    this.deps.log.error({ job_id: reduction.job_id, queue: route.queue }, reason);
    if (!result?.next) return;
    this.changed(transitionChange(run, reduction, { ...result, next: result.next }, reason));
  }

  private async resendUndispatched(): Promise<void> {
    for (const reduction of await undispatchedReductions(this.deps.database)) {
      this.deps.log.warn(
        { job_id: reduction.job_id },
        "sending a job whose message was not sent before a restart",
      );
      await this.dispatch(reduction);
    }
  }

  private async onReport(queueKind: Report, message: IncomingMessage): Promise<void> {
    const { database, config, log, transport } = this.deps;
    const report = await parseOrReject(
      transport,
      config.queues.postprocess_error,
      message,
      StatusReportSchema,
    );
    if (!report) return;
    // By job id a report may be about a job of any kind (a watch step, a trigger): the same path.
    // An SNS report without a job id is about the latest reduction version of its run.
    const target = report.job_id ? { jobId: report.job_id } : (await findJobForReport(database, report))?.id;
    const now = Date.now();
    const event = { messageId: message.id, destination: message.destination, body: message.body };
    const kind = queueKind === "retrying" && report.handed_back ? "handed_back" : queueKind;
    let result: Awaited<ReturnType<typeof applyReport>>;
    try {
      if (target === undefined) throw new UnknownJobError("");
      const attempt = reportedAttempt(report);
      result = await applyReport(database, target, event, (current) => {
        if (kind !== "complete" && attempt < current.attempts) return null; // a stale attempt
        const status = statusAfter(current.status, kind);
        return status ? { status, fields: reportFields(kind, report, current, now) } : null;
      });
    } catch (e) {
      if (!(e instanceof UnknownJobError)) throw e;
      const reason = `no reduction is known for ${report.instrument} run ${report.run_number}${report.job_id ? ` (job ${report.job_id})` : ""}`;
      await sendToErrorQueue(transport, config.queues.postprocess_error, message, reason);
      return;
    }
    if (!result?.next) return;
    const { current, next, run } = result;
    if (current.kind !== "reduction") {
      log.info({ job_id: current.job_id, kind: current.kind, status: next.status }, "job changed");
      return;
    }
    if (kind === "started" && reportedAttempt(report) > 1) {
      log.warn(
        { job_id: current.job_id, attempt: reportedAttempt(report) },
        "reduction restarted after an interrupted attempt",
      );
    }
    const text = (next.fields.message as string | null | undefined) ?? null;
    // The run as recorded, not as the report claims it.
    const instrument = run?.instrument ?? report.instrument.toUpperCase();
    this.changed({
      instrument,
      run_number: run?.run_number ?? report.run_number,
      version: asReduction(current).version,
      status: next.status,
      previous_status: current.status,
      message: text,
      job_id: current.job_id,
      updated_at: result.updatedAt,
    });
  }
}

/** The data file's own `entry/run_number`, or null when the file has none or cannot be read. */
async function fileRunNumber(path: string): Promise<number | null> {
  try {
    return (await readNexusMetadata(path)).run_number ?? null;
  } catch {
    return null;
  }
}
