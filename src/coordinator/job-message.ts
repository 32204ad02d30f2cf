import type { ReductionJob, ReductionJobFields } from "../messages/reduction-job.ts";
import type { ReductionRow } from "../store/run-store.ts";

/**
 * The body of `REDUCTION.DATA_READY` for a reduction version. SNS fields first (an SNS
 * post-processing agent can consume it as is), then ours: the version, its output folder, and
 * exactly what to run — the script's text and hash, the interpreter, the convention and the
 * variables — so that a worker runs what was recorded, even if the file changed since.
 */
export function jobMessage(
  run: { facility: string; instrument: string; ipts: string; run_number: number; data_file: string },
  reduction: Pick<
    ReductionRow,
    | "job_id"
    | "version"
    | "output_dir"
    | "script_path"
    | "script_text"
    | "script_hash"
    | "interpreter"
    | "convention"
    | "variables"
  >,
) {
  return {
    facility: run.facility,
    instrument: run.instrument,
    ipts: run.ipts,
    run_number: run.run_number,
    data_file: run.data_file,
    job_id: reduction.job_id,
    run_version: Number(reduction.version),
    ...(reduction.output_dir ? { output_dir: reduction.output_dir } : {}),
    ...(reduction.script_text !== null && reduction.script_path
      ? {
          script: {
            path: reduction.script_path,
            text: reduction.script_text,
            hash: reduction.script_hash ?? "",
          },
        }
      : {}),
    ...(reduction.interpreter ? { interpreter: reduction.interpreter } : {}),
    // Stored as text; the schema checks them again when the message is built (messageBody).
    ...(reduction.convention ? { convention: reduction.convention as ReductionJob["convention"] } : {}),
    ...(reduction.variables
      ? { variables: JSON.parse(reduction.variables) as ReductionJob["variables"] }
      : {}),
  } satisfies ReductionJobFields;
}
