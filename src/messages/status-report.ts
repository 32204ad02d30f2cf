import { z } from "zod";

/**
 * `REDUCTION.STARTED|COMPLETE|ERROR|DISABLED` (SNS) and `REDUCTION.RETRYING` (ours): what a
 * worker reports about a job. As in SNS,
 * a report repeats the job's fields, `information` carries the worker's host name and `error`
 * the reason of a failure ("REDUCTION: <line>").
 */
export const StatusReportSchema = z.looseObject({
  facility: z.string().optional(),
  instrument: z.string().min(1),
  ipts: z.union([z.string(), z.number()]).transform(String).optional(),
  run_number: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform(Number),
  data_file: z.string().optional(),
  information: z.string().optional(),
  error: z.string().optional(),
  // ----- ours (additive) -----
  job_id: z.string().optional(),
  run_version: z.number().int().nonnegative().optional(),
  /** Which delivery of the job this report belongs to (1 for the first). */
  attempt: z.number().int().positive().optional(),
  host: z.string().optional(),
  pid: z.number().int().optional(),
  output_dir: z.string().optional(),
  output_files: z.array(z.string()).optional(),
  log_file: z.string().optional(),
  err_file: z.string().optional(),
  exit_code: z.number().int().nullable().optional(),
  /** Last lines of the script's stderr (ERROR) or stdout (COMPLETE). */
  log_tail: z.string().optional(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  /** RETRYING: when the next attempt is due (ISO time). */
  retry_at: z.string().optional(),
  /** RETRYING: the worker stopped before the job finished and gave it back to the queue. */
  handed_back: z.boolean().optional(),
  /** Where the script ran (`local`, `ssh`, `slurm`). */
  executor: z.string().optional(),
  /** The executor's own id of the execution (the script's pid, a Slurm job id); stored as the job's `external_id`. */
  external_id: z.string().max(200).optional(),
  /** Highest resident memory of the script's process tree (bytes). */
  peak_memory_bytes: z.number().int().nonnegative().nullable().optional(),
});
export type StatusReport = z.infer<typeof StatusReportSchema>;
/** A report as a worker writes it (before the consumer's transforms): what `messageBody` takes. */
export type StatusReportFields = z.input<typeof StatusReportSchema>;
