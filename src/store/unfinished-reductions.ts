import { asReduction, type ReductionRow } from "./job-store.ts";
import type { SqlDatabase } from "./state-database.ts";

/** An unfinished reduction with the names of its run, for the sweeper. */
export type UnfinishedReduction = ReductionRow & { instrument: string; run_number: number };

/**
 * Reductions that are `queued`, `running` or `retrying`, oldest first, with their instrument and
 * run number. The one query the sweeper needs, kept in one place.
 */
export async function unfinishedReductions(database: SqlDatabase): Promise<UnfinishedReduction[]> {
  const rows = await database.db
    .selectFrom("jobs")
    .innerJoin("runs", "runs.id", "jobs.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .selectAll("jobs")
    .select(["instruments.name as instrument", "runs.run_number"])
    .where("jobs.kind", "=", "reduction")
    .where("jobs.status", "in", ["queued", "running", "retrying"])
    .orderBy("jobs.id")
    .execute();
  return rows.map(({ instrument, run_number, ...job }) => ({
    ...asReduction(job),
    instrument,
    run_number: Number(run_number),
  }));
}
