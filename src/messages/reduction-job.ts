import { z } from "zod";
import { snsRunFields } from "./data-ready.ts";

/** One attempt that could not start, kept with the job so the final error can tell the story. */
export const RetryEntrySchema = z.looseObject({
  attempt: z.number().int().positive(),
  /** ISO time of the failed attempt. */
  at: z.string(),
  host: z.string(),
  problem: z.string(),
});
export type RetryEntry = z.infer<typeof RetryEntrySchema>;

export const RetryStateSchema = z.looseObject({
  /** The attempt this message is (2 for the first retry). */
  attempt: z.number().int().positive(),
  /** Deliveries of the job before this message (so reported attempts keep counting up). */
  deliveries: z.number().int().nonnegative(),
  history: z.array(RetryEntrySchema),
});
export type RetryState = z.infer<typeof RetryStateSchema>;

/**
 * `REDUCTION.DATA_READY`: one reduction for a worker. The SNS fields come first (an SNS
 * post-processing agent can consume this message); the rest are ours and optional, so that our
 * worker can also serve an SNS workflow manager that sends only the SNS fields.
 */
export const ReductionJobSchema = z.looseObject({
  ...snsRunFields,
  // Names are judged by the worker's acceptance (worker/job-acceptance.ts), not here: a refusal
  // there also ends the run with an ERROR, where a schema failure could only reach the error queue.
  instrument: z.string().min(1),
  ipts: z.union([z.string().min(1), z.number()]).transform(String),
  // ----- ours (additive) -----
  /** Identifies this reduction version; echoed in every status report. */
  job_id: z.string().min(1).optional(),
  /** Version of the run's reduction (0 for the first). */
  run_version: z.number().int().nonnegative().optional(),
  /** Folder the script writes into; when absent the worker derives it (SNS rule). */
  output_dir: z.string().min(1).optional(),
  /** Exactly what to run: the script's path, text and sha256 (when absent: the file the worker finds). */
  script: z.strictObject({ path: z.string().min(1), text: z.string(), hash: z.string() }).optional(),
  /** Program that runs the script. */
  interpreter: z.string().min(1).optional(),
  /** `sns`: `<interpreter> <script> <data_file> <output_dir>/`; `isis`: `main(input_file, output_dir)` in the script. */
  convention: z.enum(["sns", "isis"]).optional(),
  /** Values for the script's variables: `{standard_vars, advanced_vars, types?}`. */
  variables: z
    .looseObject({
      standard_vars: z.record(z.string(), z.unknown()),
      advanced_vars: z.record(z.string(), z.unknown()),
    })
    .optional(),
  /**
   * The executor to run with, by name (a routing rule's `executor`); absent: the worker's
   * `worker.executor`. A worker runs it only if it is one of its own; it never takes an executor's
   * settings from a message. Covered by the signature.
   */
  executor: z.string().min(1).optional(),
  /** Set on a job sent again after it could not start (not the script's fault). */
  retry: RetryStateSchema.optional(),
});
export type ReductionJob = z.infer<typeof ReductionJobSchema>;
/** A job as the coordinator writes it (before the worker's transforms): what `messageBody` takes. */
export type ReductionJobFields = z.input<typeof ReductionJobSchema>;
