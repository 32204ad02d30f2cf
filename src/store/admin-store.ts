import type { JobKind, JobStatus } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/**
 * What the admin and account pages read and change beyond the other stores: failures an operator
 * acknowledged (hidden, migration 010), queue depth samples, site settings, a user's sessions.
 */

/** A failed job as the admin page lists it. */
export interface FailureView {
  id: number;
  job_id: string;
  kind: JobKind;
  /** `<INSTRUMENT> run <N>` for a reduction, else the stored subject. */
  subject: string;
  instrument: string | null;
  run_number: number | null;
  experiment: string | null;
  version: number | null;
  message: string | null;
  host: string | null;
  /** When it failed (finished, or last changed), epoch ms. */
  failed_at: number;
  hidden_at: number | null;
  hidden_by: string | null;
}

export interface FailureQuery {
  /** Hidden (acknowledged) failures instead of the ones still to look at. */
  hidden?: boolean;
  /** Keyset page: only jobs with a smaller row id. */
  before?: number | undefined;
  limit?: number;
}

function failedJobs(database: SqlDatabase, hidden: boolean) {
  return (
    database.db
      .selectFrom("jobs")
      .leftJoin("runs", "runs.id", "jobs.run_id")
      .leftJoin("instruments", "instruments.id", "runs.instrument_id")
      .leftJoin("experiments", "experiments.id", "runs.experiment_id")
      .where("jobs.status", "=", "error")
      .where("jobs.hidden_at", hidden ? "is not" : "is", null)
      // A failure that a later version of the same run superseded needs nobody's attention.
      .where((eb) =>
        eb.or([
          eb("jobs.run_id", "is", null),
          eb.not(
            eb.exists(
              eb
                .selectFrom("jobs as later")
                .select("later.id")
                .whereRef("later.run_id", "=", "jobs.run_id")
                .whereRef("later.version", ">", "jobs.version"),
            ),
          ),
        ]),
      )
  );
}

/**
 * Failed jobs (status `error`), newest first: the latest version of each run only (a re-run that
 * followed makes an older failure moot) and, unless `hidden`, only those nobody hid yet.
 */
export async function listFailures(database: SqlDatabase, query: FailureQuery = {}): Promise<FailureView[]> {
  let q = failedJobs(database, query.hidden ?? false).select([
    "jobs.id",
    "jobs.job_id",
    "jobs.kind",
    "jobs.subject",
    "jobs.version",
    "jobs.message",
    "jobs.host",
    "jobs.finished_at",
    "jobs.updated_at",
    "jobs.hidden_at",
    "jobs.hidden_by",
    "instruments.name as instrument",
    "runs.run_number",
    "experiments.reference as experiment",
  ]);
  if (query.before !== undefined) q = q.where("jobs.id", "<", query.before);
  const rows = await q
    .orderBy("jobs.id", "desc")
    .limit(query.limit ?? 100)
    .execute();
  const n = (v: number | null) => (v === null ? null : Number(v));
  return rows.map((r) => ({
    id: Number(r.id),
    job_id: r.job_id,
    kind: r.kind,
    subject: r.subject ?? `${r.instrument ?? "?"} run ${r.run_number ?? "?"}`,
    instrument: r.instrument,
    run_number: n(r.run_number),
    experiment: r.experiment,
    version: n(r.version),
    message: r.message,
    host: r.host,
    failed_at: Number(r.finished_at ?? r.updated_at),
    hidden_at: n(r.hidden_at),
    hidden_by: r.hidden_by,
  }));
}

/** How many failures are still to look at, counting no further than `cap` (a summary says "cap+"). */
export async function countFailures(database: SqlDatabase, cap: number): Promise<number> {
  const rows = await failedJobs(database, false)
    .select("jobs.id")
    .limit(cap + 1)
    .execute();
  return rows.length;
}

/** Hides failed jobs from the admin page's list (others, and jobs already hidden, are left as they are). */
export async function hideFailures(
  database: SqlDatabase,
  ids: readonly number[],
  by: string,
  now = Date.now(),
): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await database.db
    .updateTable("jobs")
    .set({ hidden_at: now, hidden_by: by })
    .where("id", "in", [...ids])
    .where("status", "=", "error")
    .where("hidden_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Shows hidden failures again. */
export async function unhideFailures(database: SqlDatabase, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await database.db
    .updateTable("jobs")
    .set({ hidden_at: null, hidden_by: null })
    .where("id", "in", [...ids])
    .where("hidden_at", "is not", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The run (if any) of each job row id asked for, for a batch re-run. */
export async function runsOfJobs(
  database: SqlDatabase,
  ids: readonly number[],
): Promise<Array<{ id: number; kind: JobKind; instrument: string | null; run_number: number | null }>> {
  if (ids.length === 0) return [];
  const rows = await database.db
    .selectFrom("jobs")
    .leftJoin("runs", "runs.id", "jobs.run_id")
    .leftJoin("instruments", "instruments.id", "runs.instrument_id")
    .select(["jobs.id", "jobs.kind", "instruments.name as instrument", "runs.run_number"])
    .where("jobs.id", "in", [...ids])
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    instrument: r.instrument,
    run_number: r.run_number === null ? null : Number(r.run_number),
  }));
}

/** The run and version of each job id (as messages name jobs), for links to what a daemon runs. */
export async function runsOfJobIds(
  database: SqlDatabase,
  jobIds: readonly string[],
): Promise<Map<string, { instrument: string; run_number: number; version: number | null }>> {
  const out = new Map<string, { instrument: string; run_number: number; version: number | null }>();
  if (jobIds.length === 0) return out;
  const rows = await database.db
    .selectFrom("jobs")
    .innerJoin("runs", "runs.id", "jobs.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .select(["jobs.job_id", "jobs.version", "instruments.name as instrument", "runs.run_number"])
    .where("jobs.job_id", "in", [...new Set(jobIds)].slice(0, 1000))
    .execute();
  for (const r of rows)
    out.set(r.job_id, {
      instrument: r.instrument,
      run_number: Number(r.run_number),
      version: r.version === null ? null : Number(r.version),
    });
  return out;
}

/** Jobs waiting or running, by status (each count uses the status index). */
export async function activeJobCounts(database: SqlDatabase): Promise<Record<JobStatus, number>> {
  const statuses: JobStatus[] = ["queued", "retrying", "running"];
  const counts = {} as Record<JobStatus, number>;
  for (const status of statuses) {
    const row = await database.db
      .selectFrom("jobs")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("status", "=", status)
      .executeTakeFirstOrThrow();
    counts[status] = Number(row.n);
  }
  return counts;
}

/** One sample of every queue whose depth is known (null depths are not stored). */
export async function recordQueueDepths(
  database: SqlDatabase,
  depths: Record<string, number | null>,
  now = Date.now(),
): Promise<number> {
  const rows = Object.entries(depths)
    .filter((e): e is [string, number] => e[1] !== null)
    .map(([queue, depth]) => ({ sampled_at: now, queue, depth }));
  if (rows.length > 0) await database.db.insertInto("queue_depth_samples").values(rows).execute();
  return rows.length;
}

/** Deletes samples older than `before` (epoch ms); returns how many. */
export async function pruneQueueDepths(database: SqlDatabase, before: number): Promise<number> {
  const result = await database.db
    .deleteFrom("queue_depth_samples")
    .where("sampled_at", "<", before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** When the newest sample was taken (any web process), or null. */
export async function latestQueueSample(database: SqlDatabase): Promise<number | null> {
  const row = await database.db
    .selectFrom("queue_depth_samples")
    .select((eb) => eb.fn.max("sampled_at").as("at"))
    .executeTakeFirst();
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

/** Samples since `since` (epoch ms), by queue, oldest first. */
export async function queueDepthHistory(
  database: SqlDatabase,
  since: number,
): Promise<Map<string, Array<{ at: number; depth: number }>>> {
  const rows = await database.db
    .selectFrom("queue_depth_samples")
    .select(["queue", "sampled_at", "depth"])
    .where("sampled_at", ">=", since)
    .orderBy("sampled_at")
    .execute();
  const out = new Map<string, Array<{ at: number; depth: number }>>();
  for (const r of rows) {
    const list = out.get(r.queue) ?? [];
    list.push({ at: Number(r.sampled_at), depth: Number(r.depth) });
    out.set(r.queue, list);
  }
  return out;
}

/** A site setting (`banner`), or null when not set. */
export async function siteSetting(
  database: SqlDatabase,
  key: string,
): Promise<{ value: string; updated_by: string | null; updated_at: number } | null> {
  const row = await database.db
    .selectFrom("site_settings")
    .select(["value", "updated_by", "updated_at"])
    .where("key", "=", key)
    .executeTakeFirst();
  return row ? { value: row.value, updated_by: row.updated_by, updated_at: Number(row.updated_at) } : null;
}

/** Sets a site setting, or removes it (`value` null or empty). */
export async function setSiteSetting(
  database: SqlDatabase,
  key: string,
  value: string | null,
  by: string,
  now = Date.now(),
): Promise<void> {
  if (!value) {
    await database.db.deleteFrom("site_settings").where("key", "=", key).execute();
    return;
  }
  await database.db
    .insertInto("site_settings")
    .values({ key, value, updated_by: by, updated_at: now })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_by: by, updated_at: now }))
    .execute();
}

/** Ends every session of a user (signs them out in every browser); returns how many. */
export async function endSessions(database: SqlDatabase, userId: number): Promise<number> {
  const result = await database.db.deleteFrom("sessions").where("user_id", "=", userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** How many experiments each user name is a member of. */
export async function membershipCounts(database: SqlDatabase): Promise<Map<string, number>> {
  const rows = await database.db
    .selectFrom("experiment_members")
    .select(["username", (eb) => eb.fn.countAll<number>().as("n")])
    .groupBy("username")
    .execute();
  return new Map(rows.map((r) => [r.username, Number(r.n)]));
}
