import type { Kysely } from "kysely";

/**
 * A routing rule may say who serves its queue (`routing_rules.workers`: `autoreduce` or
 * `sns-agent`; null: the instrument's setting), so that jobs for SNS agents are sent in a form
 * they can take.
 */
export function routeWorkersMigration() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable("routing_rules").addColumn("workers", "text").execute();
    },
  };
}
