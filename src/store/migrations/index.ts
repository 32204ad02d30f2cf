import type { Migration } from "kysely";
import type { Dialect } from "../state-database.ts";
import { coreMigration } from "./001-core.ts";
import { scriptsAndVariablesMigration } from "./002-scripts-and-variables.ts";
import { workersMigration } from "./003-workers.ts";
import { jobsMigration } from "./004-jobs.ts";
import { apiTokensMigration } from "./005-api-tokens.ts";
import { routeExecutorMigration } from "./006-route-executor.ts";
import { routeWorkersMigration } from "./007-route-workers.ts";
import { webMigration } from "./008-web.ts";
import { runIndexMigration } from "./009-run-index.ts";
import { adminMigration } from "./010-admin.ts";

/** Numbered migrations of the state database, the same on SQLite and PostgreSQL. Never edit a released one. */
export function stateMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    "001-core": coreMigration(dialect),
    "002-scripts-and-variables": scriptsAndVariablesMigration(dialect),
    "003-workers": workersMigration(dialect),
    "004-jobs": jobsMigration(dialect),
    "005-api-tokens": apiTokensMigration(dialect),
    "006-route-executor": routeExecutorMigration(),
    "007-route-workers": routeWorkersMigration(),
    "008-web": webMigration(dialect),
    "009-run-index": runIndexMigration(dialect),
    "010-admin": adminMigration(dialect),
  };
}
