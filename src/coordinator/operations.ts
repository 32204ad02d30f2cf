import { instrumentSettings } from "../config/instrument-settings.ts";
import { readJobKey } from "../config/job-key.ts";
import type { Config } from "../config/load-config.ts";
import { RefusedError } from "../failures/refused-error.ts";
import type { Logger } from "../logging/logger.ts";
import { CancelSchema } from "../messages/cancel.ts";
import { messageBody } from "../messages/message-body.ts";
import { InvalidMessageError } from "../messages/message-error.ts";
import { type ReductionRequest, ReductionRequestSchema } from "../messages/reduction-request.ts";
import { signRequest } from "../messages/request-signature.ts";
import { coerceVariables, typedVariables, VariableValueError } from "../scripts/variable-types.ts";
import { ChangePublisher } from "../service/change-publisher.ts";
import { cancelLatest } from "../store/reduction-store.ts";
import { listRuns } from "../store/run-views.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { createVariableSet, variableSets } from "../store/variable-store.ts";
import type { Transport } from "../transport/transport.ts";
import { RerunHandler, type RerunPreview } from "./rerun-handler.ts";
import { ScriptCatalog } from "./script-catalog.ts";
import { runsAffectedBy, type VariableValues } from "./variable-selection.ts";
import { PlanRefused } from "./version-plan.ts";

/**
 * What people do to reductions, shared by the CLI and the JSON API so that both check the same
 * things and say the same. Each throws OperationRefused with a reason a person can act on.
 */
export interface OperationDeps {
  config: Config;
  database: SqlDatabase;
  transport: Transport;
  log: Logger;
}

export class OperationRefused extends RefusedError {
  override readonly name = "OperationRefused";
}

/** The script's current variable defaults (refused when the instrument or its reduce_vars.py is missing). */
export async function scriptDefaults(config: Config, instrument: string): Promise<VariableValues> {
  if (!instrumentSettings(config, instrument)) throw new OperationRefused(`unknown instrument ${instrument}`);
  const script = await new ScriptCatalog(config).current(instrument);
  if (script?.varsError) throw new OperationRefused(script.varsError);
  if (!script?.defaults)
    throw new OperationRefused(`${instrument} has no reduce_vars.py beside its script: it has no variables`);
  return script.defaults;
}

/** Checks a re-run request as the coordinator will and, unless `dryRun`, sends it. */
export async function requestRerun(
  deps: OperationDeps,
  request: ReductionRequest,
  dryRun: boolean,
): Promise<RerunPreview> {
  const { key: jobKey } = readJobKey(deps.config); // read once: checks the preview, signs the request
  const handler = new RerunHandler({
    ...deps,
    catalog: new ScriptCatalog(deps.config),
    dispatch: async () => {},
    changed: () => {},
    jobKey,
  });
  let preview: RerunPreview;
  try {
    ({ preview } = await handler.prepare(request));
  } catch (e) {
    if (e instanceof InvalidMessageError || e instanceof PlanRefused) throw new OperationRefused(e.message);
    throw e;
  }
  if (!dryRun && preview.queue.length > 0) {
    // Signed: the coordinator believes the role and requester only from our own processes.
    const signed = signRequest({ ...request, run_numbers: preview.queue }, jobKey);
    await deps.transport.send(deps.config.queues.reduction_request, {
      body: messageBody(ReductionRequestSchema, signed),
    });
  }
  return preview;
}

export interface NewSet {
  instrument: string;
  fromRun?: number | undefined;
  experiment?: string | undefined;
  /** Values by variable name, as typed by a person (converted to each variable's type). */
  values: Record<string, unknown>;
  by: string;
}

/** Saves a variable set; returns its id and the existing runs it would now apply to. */
export async function setVariables(
  deps: OperationDeps,
  set: NewSet,
): Promise<{ id: number; affected: number[] }> {
  if ((set.fromRun === undefined) === (set.experiment === undefined)) {
    throw new OperationRefused("give exactly one of a start run (from run N on) and an experiment");
  }
  const instrument = set.instrument.toUpperCase();
  const defaults = await scriptDefaults(deps.config, instrument);
  const typed = typedVariables(
    { ...defaults.standard_vars, ...defaults.advanced_vars },
    { ...defaults.types?.standard_vars, ...defaults.types?.advanced_vars },
  );
  let all: Record<string, unknown>;
  try {
    all = coerceVariables(typed, set.values);
  } catch (e) {
    if (e instanceof VariableValueError) throw new OperationRefused(`not saved: ${e.reason}`);
    throw e;
  }
  const pick = (section: Record<string, unknown>) =>
    Object.fromEntries(
      Object.keys(set.values)
        .filter((k) => k in section)
        .map((k) => [k, all[k]]),
    );
  const scope = set.fromRun !== undefined ? ("from_run" as const) : ("experiment" as const);
  const experiment = set.experiment?.toUpperCase() ?? null;
  const others = (await variableSets(deps.database, instrument)).filter(
    (s) => s.deleted_at === null && s.scope !== "default",
  );
  const id = await createVariableSet(deps.database, {
    instrument,
    facility: instrumentSettings(deps.config, instrument)?.facility ?? deps.config.facility,
    scope,
    start_run: set.fromRun ?? null,
    experiment,
    values: {
      standard_vars: pick(defaults.standard_vars),
      advanced_vars: pick(defaults.advanced_vars),
    } as VariableValues,
    source: "person",
    created_by: set.by,
  });
  const runs = await listRuns(deps.database, { instrument, limit: 100_000 });
  const affected = runsAffectedBy({ scope, start_run: set.fromRun ?? null, experiment }, runs, others);
  return { id, affected };
}

/** Cancels the latest version of a run (and stops it where it runs); returns that version. */
export async function cancelRun(
  deps: OperationDeps,
  instrument: string,
  runNumber: number,
  by: string,
): Promise<number> {
  const { reduction, previous, reason } = await cancelLatest(deps.database, instrument, runNumber, by);
  if (!reduction) throw new OperationRefused(reason ?? "nothing to cancel");
  await deps.transport.send(deps.config.queues.cancel, {
    body: messageBody(CancelSchema, { job_id: reduction.job_id, cancelled_by: by }),
  });
  // Made here (CLI or API process), not by the coordinator: published from here.
  await new ChangePublisher(deps.transport, deps.config, deps.log).publish({
    subject: "job",
    kind: "reduction",
    job_id: reduction.job_id,
    status: reduction.status,
    previous_status: previous ?? null,
    message: reduction.message,
    updated_at: reduction.updated_at,
    instrument: instrument.toUpperCase(),
    run_number: runNumber,
    version: reduction.version,
  });
  return reduction.version;
}
