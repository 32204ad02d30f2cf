import type { SqlDatabase } from "./state-database.ts";

/** A routing rule: jobs of runs that match every condition given go to `queue`. */
export interface RouteRule {
  name: string;
  /** Instrument name; absent: any. */
  instrument?: string | null | undefined;
  /** Regular expression on the run title. */
  title?: string | null | undefined;
  /** Regular expression on the sample name. */
  sample?: string | null | undefined;
  /** The raw file is at least this many bytes. */
  min_file_bytes?: number | null | undefined;
  queue: string;
  /** The executor the job runs with (named in the job message); absent: the worker's own. */
  executor?: string | null | undefined;
  /** Who serves `queue`: `autoreduce` or `sns-agent`; absent: the instrument's `workers`. */
  workers?: "autoreduce" | "sns-agent" | null | undefined;
}

/** A routing rule kept in the database, as listed to people. */
export interface StoredRouteRule extends RouteRule {
  priority: number;
  created_by: string | null;
  created_at: number;
}

/** The database's routing rules, lowest priority number first. */
export async function listRouteRules(database: SqlDatabase): Promise<StoredRouteRule[]> {
  const rows = await database.db
    .selectFrom("routing_rules")
    .selectAll()
    .orderBy("priority")
    .orderBy("id")
    .execute();
  return rows.map((r) => ({
    name: r.name,
    priority: Number(r.priority),
    instrument: r.instrument,
    title: r.title,
    sample: r.sample,
    min_file_bytes: r.min_file_bytes === null ? null : Number(r.min_file_bytes),
    queue: r.queue,
    executor: r.executor,
    workers: r.workers === "sns-agent" || r.workers === "autoreduce" ? r.workers : null,
    created_by: r.created_by,
    created_at: Number(r.created_at),
  }));
}

/** Adds or replaces (by name) a routing rule. */
export async function saveRouteRule(
  database: SqlDatabase,
  rule: RouteRule & { priority: number; created_by: string | null },
  now = Date.now(),
): Promise<void> {
  const values = {
    name: rule.name,
    priority: rule.priority,
    instrument: rule.instrument?.toUpperCase() ?? null,
    title: rule.title ?? null,
    sample: rule.sample ?? null,
    min_file_bytes: rule.min_file_bytes ?? null,
    queue: rule.queue,
    executor: rule.executor ?? null,
    workers: rule.workers ?? null,
    created_by: rule.created_by,
    created_at: now,
  };
  await database.db
    .insertInto("routing_rules")
    .values(values)
    .onConflict((oc) => oc.column("name").doUpdateSet(values))
    .execute();
}

/** Removes a rule by name; false if there was none. */
export async function removeRouteRule(database: SqlDatabase, name: string): Promise<boolean> {
  const result = await database.db.deleteFrom("routing_rules").where("name", "=", name).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
