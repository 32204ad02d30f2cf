import { createHash, randomUUID } from "node:crypto";
import type { Selectable } from "kysely";
import type { JobKind, JobsTable } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/** One row of `jobs`, of any kind. */
export type JobRow = Selectable<JobsTable>;

/** A job of kind `reduction`: one version of a run's reduction (its run and version are known). */
export type ReductionRow = JobRow & { kind: "reduction"; run_id: number; version: number };

/** A row that should have been a reduction was not (a query forgot `kind = 'reduction'`, or a bad id). */
export class NotAReductionError extends Error {
  override readonly name = "NotAReductionError";
  constructor(readonly job: Pick<JobRow, "job_id" | "kind">) {
    super(`job ${job.job_id} is a ${job.kind} job, not a reduction of a run`);
  }
}

/** Narrows a job to a reduction; throws NotAReductionError for the other kinds. */
export function asReduction(job: JobRow): ReductionRow {
  if (job.kind !== "reduction" || job.run_id === null || job.version === null) {
    throw new NotAReductionError(job);
  }
  return job as ReductionRow;
}

/** A job of another kind than a reduction, as the part that starts it describes it. */
export interface NewJob {
  kind: Exclude<JobKind, "reduction">;
  /** What it belongs to: the watch rule's name, the live session's instrument, the trigger's name. */
  subject: string;
  /** Why it was started (`watch`, `trigger`, `live`, or a person's reason). */
  reason: string;
  /** Who started it: a user, `watch:<rule>`, the beamline host of a trigger. */
  startedBy: string | null;
  description?: string | null;
  /** The script file run (null when only a command text is run). */
  scriptPath?: string | null;
  /** The exact script or command text; its sha256 is stored beside it. */
  scriptText?: string | null;
  interpreter?: string | null;
  /** Command-line arguments, stored as a JSON array. */
  arguments?: string[] | null;
  /** Variables or environment given to it, stored as JSON. */
  variables?: Record<string, unknown> | null;
  executor?: string | null;
  outputDir?: string | null;
  /**
   * The message that asked for it. Recorded as the job's first event; its id makes creating
   * idempotent (a redelivered request returns the job it made).
   */
  event?: { messageId: string; destination: string; body: string };
}

export type CreateJobResult = { kind: "created"; job: JobRow } | { kind: "duplicate"; job: JobRow | null };

/**
 * Creates a `queued` job of a kind other than `reduction` (reductions are made by
 * `recordReadyRun`, with their run), with its request as the first event, in one transaction.
 */
export async function createJob(
  database: SqlDatabase,
  job: NewJob,
  now = Date.now(),
): Promise<CreateJobResult> {
  return database.transaction(async (trx) => {
    const messageId = job.event?.messageId;
    if (messageId !== undefined) {
      const seen = await trx
        .selectFrom("job_events")
        .leftJoin("jobs", "jobs.id", "job_events.job_row_id")
        .selectAll("jobs")
        .where("job_events.message_id", "=", messageId)
        .executeTakeFirst();
      if (seen) return { kind: "duplicate", job: seen.id === null ? null : (seen as JobRow) };
    }
    const text = job.scriptText ?? null;
    const row = await trx
      .insertInto("jobs")
      .values({
        kind: job.kind,
        run_id: null,
        version: null,
        subject: job.subject,
        job_id: randomUUID(),
        status: "queued",
        reason: job.reason,
        started_by: job.startedBy,
        description: job.description ?? null,
        script_path: job.scriptPath ?? null,
        script_text: text,
        script_hash: text === null ? null : createHash("sha256").update(text).digest("hex"),
        interpreter: job.interpreter ?? null,
        arguments: job.arguments ? JSON.stringify(job.arguments) : null,
        variables: job.variables ? JSON.stringify(job.variables) : null,
        executor: job.executor ?? null,
        output_dir: job.outputDir ?? null,
        output_files: "[]",
        attempts: 0,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    if (job.event) {
      await trx
        .insertInto("job_events")
        .values({
          run_id: null,
          job_row_id: row.id,
          destination: job.event.destination,
          message_id: job.event.messageId,
          body: job.event.body,
          created_at: now,
        })
        .execute();
    }
    return { kind: "created", job: row };
  });
}

/** A job by its id in messages (any kind), or null. */
export async function findJob(database: SqlDatabase, jobId: string): Promise<JobRow | null> {
  return (
    (await database.db.selectFrom("jobs").selectAll().where("job_id", "=", jobId).executeTakeFirst()) ?? null
  );
}
