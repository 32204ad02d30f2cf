import type { Kysely } from "kysely";

/** A routing rule may name the executor its jobs run with (`routing_rules.executor`; null: the worker's own). */
export function routeExecutorMigration() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable("routing_rules").addColumn("executor", "text").execute();
    },
  };
}
