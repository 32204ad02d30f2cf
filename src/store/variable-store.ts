import type { VarType, VarValue } from "../scripts/variable-types.ts";
import type { VariableScope } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/** Values of a script's variables, as stored and sent with a job. */
export interface VariableValues {
  standard_vars: Record<string, VarValue>;
  advanced_vars: Record<string, VarValue>;
  /** Each variable's type from the script's defaults (JSON cannot tell 1.0 from 1). */
  types?: { standard_vars?: Record<string, VarType>; advanced_vars?: Record<string, VarType> };
}

/** A variable set as the selection rules see it. */
export interface ScopedSet {
  id: number;
  scope: "default" | "from_run" | "experiment";
  start_run: number | null;
  experiment: string | null;
  values: Partial<VariableValues>;
  deleted_at: number | null;
}

/** A variable set with who made it and when. */
export interface VariableSetView extends ScopedSet {
  source: string;
  script_hash: string | null;
  created_by: string | null;
  created_at: string;
  deleted_by: string | null;
}

async function instrumentId(database: SqlDatabase, name: string, facility: string): Promise<number> {
  const row = await database.db
    .insertInto("instruments")
    .values({ name, facility, created_at: Date.now() })
    .onConflict((oc) => oc.column("name").doUpdateSet((eb) => ({ name: eb.ref("excluded.name") })))
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Every variable set of an instrument, deleted ones included, oldest first. */
export async function variableSets(database: SqlDatabase, instrument: string): Promise<VariableSetView[]> {
  const rows = await database.db
    .selectFrom("variable_sets")
    .innerJoin("instruments", "instruments.id", "variable_sets.instrument_id")
    .selectAll("variable_sets")
    .where("instruments.name", "=", instrument.toUpperCase())
    .orderBy("variable_sets.id")
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    scope: r.scope,
    start_run: r.start_run === null ? null : Number(r.start_run),
    experiment: r.experiment,
    values: JSON.parse(r.values) as Partial<VariableValues>,
    deleted_at: r.deleted_at === null ? null : Number(r.deleted_at),
    source: r.source,
    script_hash: r.script_hash,
    created_by: r.created_by,
    created_at: new Date(Number(r.created_at)).toISOString(),
    deleted_by: r.deleted_by,
  }));
}

export interface NewVariableSet {
  instrument: string;
  facility: string;
  scope: VariableScope;
  start_run?: number | null;
  experiment?: string | null;
  values: Partial<VariableValues>;
  source: "script" | "person";
  script_hash?: string | null;
  created_by: string | null;
}

export async function createVariableSet(database: SqlDatabase, set: NewVariableSet): Promise<number> {
  const id = await instrumentId(database, set.instrument.toUpperCase(), set.facility);
  const row = await database.db
    .insertInto("variable_sets")
    .values({
      instrument_id: id,
      scope: set.scope,
      start_run: set.start_run ?? null,
      experiment: set.experiment ?? null,
      values: JSON.stringify(set.values),
      source: set.source,
      script_hash: set.script_hash ?? null,
      created_by: set.created_by,
      created_at: Date.now(),
      deleted_at: null,
      deleted_by: null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Marks a set deleted (it stays in the history); false if there is no such live set. */
export async function deleteVariableSet(
  database: SqlDatabase,
  instrument: string,
  id: number,
  by: string | null,
) {
  const sets = await variableSets(database, instrument);
  if (!sets.some((s) => s.id === id && s.deleted_at === null)) return false;
  await database.db
    .updateTable("variable_sets")
    .set({ deleted_at: Date.now(), deleted_by: by })
    .where("id", "=", id)
    .execute();
  return true;
}

/**
 * Records the script's defaults as a new `default` set when they differ from the last recorded
 * ones (a changed `reduce_vars.py`). Sets people made are separate rows and never touched.
 */
export async function recordScriptDefaults(
  database: SqlDatabase,
  instrument: string,
  facility: string,
  defaults: VariableValues,
  hash: string,
): Promise<number> {
  const sets = await variableSets(database, instrument);
  const last = sets.filter((s) => s.scope === "default").at(-1);
  if (last && last.script_hash === hash) return last.id;
  return createVariableSet(database, {
    instrument,
    facility,
    scope: "default",
    values: defaults,
    source: "script",
    script_hash: hash,
    created_by: "reduce_vars.py",
  });
}
