import type { ReductionRow } from "./run-store.ts";
import type { SqlDatabase } from "./state-database.ts";

/** An unfinished reduction with the names of its run, for the sweeper. */
export type UnfinishedReduction = ReductionRow & { instrument: string; run_number: number };

/**
 * Reductions that are `queued`, `running` or `retrying`, oldest first, with their instrument and
 * run number. The one query the sweeper needs, kept in one place.
 */
export async function unfinishedReductions(database: SqlDatabase): Promise<UnfinishedReduction[]> {
  const rows = await database.db
    .selectFrom("reductions")
    .innerJoin("runs", "runs.id", "reductions.run_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .selectAll("reductions")
    .select(["instruments.name as instrument", "runs.run_number"])
    .where("reductions.status", "in", ["queued", "running", "retrying"])
    .orderBy("reductions.id")
    .execute();
  return rows.map((row) => ({ ...row, run_number: Number(row.run_number) }));
}
