import { instrumentSettings } from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import { createdChange } from "../messages/change-event.ts";
import { InvalidMessageError, parseMessage } from "../messages/message-error.ts";
import {
  type ReductionRequest,
  ReductionRequestSchema,
  requestedRuns,
} from "../messages/reduction-request.ts";
import { verifyRequest } from "../messages/request-signature.ts";
import { runForRerun } from "../store/reduction-store.ts";
import { type ReductionRow, recordReadyRun } from "../store/run-store.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { sendToErrorQueue } from "../transport/error-queue.ts";
import type { IncomingMessage, Transport } from "../transport/transport.ts";
import type { ReductionChange } from "./coordinator.ts";
import { JobRouter } from "./job-router.ts";
import { OutputOutsideRootError, outputDirFor } from "./output-location.ts";
import type { ScriptCatalog } from "./script-catalog.ts";
import { PlanRefused, planVersion, type VersionPlan } from "./version-plan.ts";

export interface RerunDeps {
  config: Config;
  database: SqlDatabase;
  transport: Transport;
  log: Logger;
  catalog: ScriptCatalog;
  dispatch: (reduction: ReductionRow) => Promise<void>;
  changed: (change: ReductionChange) => void;
  /** The job key: a request signed with it is believed about who asks and in which role. */
  jobKey: Buffer;
}

type Run = NonNullable<Awaited<ReturnType<typeof runForRerun>>>;

/** What a re-run request would do, run by run; the same answer for the preview and the real thing. */
export interface RerunPreview {
  queue: number[];
  /** Runs that will not be re-run, with the reason. */
  refused: Array<{ run_number: number; reason: string }>;
}

/**
 * Handles `REDUCTION.REQUEST`: each named run gets a new version with its stored script (or the
 * current one) and its stored variables with the requested changes. The whole request is refused
 * (to POSTPROCESS.ERROR, with the reason) if it names more runs than the requester's role allows
 * or a variable change cannot be applied; single runs that were never reduced or are still queued
 * or running are left out and logged. Idempotent: a redelivered request creates nothing new.
 */
export class RerunHandler {
  private readonly router: JobRouter;

  constructor(private readonly deps: RerunDeps) {
    this.router = new JobRouter(deps.config, deps.database);
  }

  async handle(message: IncomingMessage): Promise<void> {
    const { config, transport, log } = this.deps;
    try {
      const request = believed(
        parseMessage(ReductionRequestSchema, message.body),
        message.body,
        this.deps.jobKey,
      );
      const { plans, preview } = await this.prepare(request);
      for (const [run, plan] of plans) await this.createVersion(message, request, run, plan, plans.size > 1);
      log.info({ instrument: request.instrument, ...preview }, "re-run request handled");
    } catch (e) {
      if (!(e instanceof InvalidMessageError || e instanceof PlanRefused)) throw e;
      await sendToErrorQueue(transport, config.queues.postprocess_error, message, e.message);
    }
  }

  /** Checks a request and plans every run without changing anything. */
  async prepare(request: ReductionRequest): Promise<{ plans: Map<Run, VersionPlan>; preview: RerunPreview }> {
    const { config, database, catalog } = this.deps;
    const instrument = request.instrument.toUpperCase();
    if (!instrumentSettings(config, instrument))
      throw new InvalidMessageError(`unknown instrument "${request.instrument}"`);
    const runs = requestedRuns(request);
    if (runs.length === 0)
      throw new InvalidMessageError("the request names no run (run_number or run_numbers)");
    const role = request.role ?? "staff";
    const cap = config.rerun_caps[role];
    if (runs.length > cap) {
      throw new InvalidMessageError(
        `the request names ${runs.length} runs; a ${role} may re-run at most ${cap} at once`,
      );
    }
    const plans = new Map<Run, VersionPlan>();
    const preview: RerunPreview = { queue: [], refused: [] };
    for (const runNumber of runs) {
      const run = await runForRerun(database, instrument, runNumber);
      const wanted = request.from_version;
      // The version whose stored script and variables the new one starts from: the latest, or the one asked for.
      const from =
        run && wanted !== undefined && wanted !== run.version
          ? await runForRerun(database, instrument, runNumber, wanted)
          : run;
      const reason = !run
        ? "never reduced (submit its file instead)"
        : run.status === "queued" || run.status === "running"
          ? `version ${run.version} is still ${run.status}`
          : !from
            ? `it has no version ${wanted} (its latest is ${run.version})`
            : outputProblem(config, run);
      if (reason || !run || !from) {
        preview.refused.push({ run_number: runNumber, reason: reason ?? "" });
        continue;
      }
      const plan = await planVersion(
        { config, database, catalog },
        {
          instrument,
          facility: run.facility,
          experiment: run.ipts,
          runNumber,
          previous: from,
          currentScript: request.current_script ?? false,
          scriptCheck: await this.router.scriptCheck({
            instrument,
            dataFile: run.data_file,
            title: run.title,
            metadata: parseRunMetadata(run.run_metadata),
          }),
          ...(request.variables ? { modifications: request.variables } : {}),
        },
      );
      plans.set(run, plan);
      preview.queue.push(runNumber);
    }
    return { plans, preview };
  }

  private async createVersion(
    message: IncomingMessage,
    request: ReductionRequest,
    run: Run,
    plan: VersionPlan,
    batch: boolean,
  ) {
    const { config, database } = this.deps;
    const startedBy = request.started_by ?? request.information?.replace(/^Requested by /, "") ?? null;
    const result = await recordReadyRun(database, {
      facility: run.facility,
      instrument: run.instrument,
      experiment: run.ipts,
      runNumber: run.run_number,
      dataFile: run.data_file,
      title: run.title,
      startTime: null,
      endTime: null,
      metadata: JSON.parse(run.run_metadata) as Record<string, unknown>,
      messageId: `${message.id}:${run.run_number}`,
      destination: message.destination,
      body: message.body,
      dedupeKey: null,
      reason: batch ? "batch" : "rerun",
      startedBy,
      description: request.description ?? null,
      outputDir: (version) =>
        outputDirFor(
          config,
          { instrument: run.instrument, ipts: run.ipts, facility: run.facility, run_number: run.run_number },
          version,
        ),
      ...plan,
    });
    const reduction = result.reduction;
    if (!reduction) return;
    if (result.kind === "created") {
      this.deps.changed(createdChange(run, reduction));
    }
    if (reduction.status === "queued" && reduction.dispatched_at === null)
      await this.deps.dispatch(reduction);
  }
}

/**
 * The request as far as it can be believed. Signed by our CLI or web part (which authenticated the
 * person): as it is. Unsigned (SNS WebMon, or anyone who can publish on the broker): the smallest
 * re-run cap (`role: user`) and the claimed requester marked as unverified. A signature that does
 * not verify: refused.
 */
export function believed(request: ReductionRequest, body: string, key: Buffer): ReductionRequest {
  const authenticity = verifyRequest(JSON.parse(body) as Record<string, unknown>, key);
  if (authenticity === "valid") return request;
  if (authenticity === "invalid")
    throw new InvalidMessageError(
      "request_signature does not verify with the coordinator's job key (security.job_key_file): the request was altered, forged, or signed with another key",
    );
  const claimed = request.started_by ?? request.information?.replace(/^Requested by /, "") ?? null;
  return {
    ...request,
    role: "user",
    started_by: claimed === null ? "unverified request" : `${claimed} (unverified)`,
  };
}

/** Why a recorded run cannot get a new version in a safe output folder (rows from before names were checked), or null. */
function outputProblem(config: Config, run: Run): string | null {
  try {
    outputDirFor(
      config,
      { instrument: run.instrument, ipts: run.ipts, facility: run.facility, run_number: run.run_number },
      0,
    );
    return null;
  } catch (e) {
    if (e instanceof OutputOutsideRootError) return e.reason;
    throw e;
  }
}

function parseRunMetadata(text: string | null): Record<string, unknown> {
  try {
    const value = text ? (JSON.parse(text) as unknown) : null;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
