import type { Kysely } from "kysely";
import type { StateSchema } from "../store/schema.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import { addMember, checkUsername, removeMember } from "../store/user-store.ts";
import type { CatalogEntry } from "./catalog-file.ts";

/**
 * The experiment catalog: who belongs to which experiment, and what the facility knows about an
 * experiment (title, PI, dates). Membership is what lets an experimenter see and re-run their
 * runs (web/auth/viewer.ts reads it as `memberOf`).
 *
 * At ISIS the source of truth is ICAT, at SNS ONCat; both are reached through an adapter that
 * implements {@link ExperimentCatalog}. Only the local catalog exists in this version: it keeps
 * memberships in the state database (`experiment_members`, metadata on `experiments`), filled by
 * hand (`autoreduce catalog add-member`) or by importing a user-office export
 * (`autoreduce catalog import`, `POST /api/v1/catalog/import`). An ICAT or ONCat adapter would
 * answer the same three questions from its service, and be synchronised into the same tables so
 * that pages and permissions keep working while the service is down (what ISIS's web app did
 * with its ICAT cache).
 */
export interface ExperimentCatalog {
  /** Where the answers come from: `local`, `icat`, `oncat`. */
  readonly source: string;
  /** User names of an experiment's members, sorted. */
  membersOf(experiment: string): Promise<string[]>;
  /** Experiments a person belongs to, sorted. */
  experimentsOf(username: string): Promise<string[]>;
  /** What the catalog knows about an experiment; null when it knows nothing. */
  describe(experiment: string): Promise<ExperimentDescription | null>;
}

/** An experiment as the catalog describes it. */
export interface ExperimentDescription {
  experiment: string;
  title: string | null;
  /** PI, start and end dates, proposal and whatever else the catalog holds. */
  metadata: Record<string, unknown>;
}

/** One membership row: `catalog` (imported) or `local` (added by hand, never removed by an import). */
export interface Membership {
  experiment: string;
  username: string;
  source: "catalog" | "local";
  added_at: number;
}

/** What an import did. */
export interface ImportSummary {
  experiments: number;
  /** Memberships added. */
  added: number;
  /** Imported memberships removed (`replace` only; never those added by hand). */
  removed: number;
  /** Memberships that were already there. */
  unchanged: number;
  /** Listed user names with no account yet: they get access when their account is made or first signs in. */
  withoutAccount: string[];
}

/** The catalog kept in the state database. */
export class LocalCatalog implements ExperimentCatalog {
  readonly source = "local";

  constructor(private readonly database: SqlDatabase) {}

  async membersOf(experiment: string): Promise<string[]> {
    return (await this.memberships(experiment)).map((m) => m.username);
  }

  async experimentsOf(username: string): Promise<string[]> {
    const rows = await this.database.db
      .selectFrom("experiment_members")
      .select("experiment")
      .where("username", "=", username)
      .orderBy("experiment")
      .execute();
    return rows.map((r) => r.experiment);
  }

  async describe(experiment: string): Promise<ExperimentDescription | null> {
    const row = await this.database.db
      .selectFrom("experiments")
      .select(["title", "catalog"])
      .where("reference", "=", experiment)
      .executeTakeFirst();
    if (!row || (row.title === null && row.catalog === null)) return null;
    return { experiment, title: row.title, metadata: parseMetadata(row.catalog) };
  }

  /** Memberships of one experiment (or of all), by experiment then user name. */
  async memberships(experiment?: string): Promise<Membership[]> {
    let q = this.database.db
      .selectFrom("experiment_members")
      .select(["experiment", "username", "source", "added_at"]);
    if (experiment !== undefined) q = q.where("experiment", "=", experiment);
    const rows = await q.orderBy("experiment").orderBy("username").execute();
    return rows.map((r) => ({
      experiment: r.experiment,
      username: r.username,
      source: r.source === "local" ? "local" : "catalog",
      added_at: Number(r.added_at),
    }));
  }

  /** Experiments that have members or catalog data, with their member counts. */
  async experiments(): Promise<Array<{ experiment: string; title: string | null; members: number }>> {
    const [counts, described] = await Promise.all([
      this.database.db
        .selectFrom("experiment_members")
        .select(["experiment", (eb) => eb.fn.countAll<number>().as("n")])
        .groupBy("experiment")
        .execute(),
      this.database.db
        .selectFrom("experiments")
        .select(["reference", "title"])
        .where((eb) => eb.or([eb("title", "is not", null), eb("catalog", "is not", null)]))
        .execute(),
    ]);
    const out = new Map<string, { experiment: string; title: string | null; members: number }>();
    for (const d of described) out.set(d.reference, { experiment: d.reference, title: d.title, members: 0 });
    for (const c of counts) {
      const known = out.get(c.experiment);
      out.set(c.experiment, { experiment: c.experiment, title: known?.title ?? null, members: Number(c.n) });
    }
    return [...out.values()].sort((a, b) => a.experiment.localeCompare(b.experiment));
  }

  /** Adds a member by hand (`local`: an import with `replace` never removes it). False: already a member. */
  async addMember(experiment: string, username: string): Promise<boolean> {
    checkUsername(username);
    const before = await this.membersOf(experiment);
    if (before.includes(username)) return false;
    await addMember(this.database, experiment, username, "local");
    return true;
  }

  /** Removes a member, however they were added. False: was not a member. */
  async removeMember(experiment: string, username: string): Promise<boolean> {
    if (!(await this.membersOf(experiment)).includes(username)) return false;
    await removeMember(this.database, experiment, username);
    return true;
  }

  /**
   * Imports checked entries in one transaction: each experiment is recorded (with its title and
   * metadata, when the entry has them) and its listed members added. With `replace`, members of
   * the listed experiments that the file no longer lists are removed, if they came from the
   * catalog; members added by hand (`local`) stay.
   */
  async import(
    entries: CatalogEntry[],
    options: { replace: boolean },
    now = Date.now(),
  ): Promise<ImportSummary> {
    const summary: ImportSummary = {
      experiments: entries.length,
      added: 0,
      removed: 0,
      unchanged: 0,
      withoutAccount: [],
    };
    await this.database.transaction(async (trx) => {
      for (const entry of entries) {
        await recordExperiment(trx, entry, now);
        const existing = await trx
          .selectFrom("experiment_members")
          .select(["username", "source"])
          .where("experiment", "=", entry.experiment)
          .execute();
        const present = new Set(existing.map((r) => r.username));
        const missing = entry.members.filter((m) => !present.has(m));
        summary.unchanged += entry.members.length - missing.length;
        if (missing.length > 0) {
          await trx
            .insertInto("experiment_members")
            .values(
              missing.map((username) => ({
                experiment: entry.experiment,
                username,
                source: "catalog",
                added_at: now,
              })),
            )
            .execute();
          summary.added += missing.length;
        }
        if (options.replace) {
          const listed = new Set(entry.members);
          const gone = existing
            .filter((r) => r.source === "catalog" && !listed.has(r.username))
            .map((r) => r.username);
          if (gone.length > 0) {
            await trx
              .deleteFrom("experiment_members")
              .where("experiment", "=", entry.experiment)
              .where("source", "=", "catalog")
              .where("username", "in", gone)
              .execute();
            summary.removed += gone.length;
          }
        }
      }
      const listed = [...new Set(entries.flatMap((e) => e.members))];
      const known = new Set<string>();
      for (let i = 0; i < listed.length; i += 500) {
        const rows = await trx
          .selectFrom("users")
          .select("username")
          .where("username", "in", listed.slice(i, i + 500))
          .execute();
        for (const r of rows) known.add(r.username);
      }
      summary.withoutAccount = listed.filter((u) => !known.has(u)).sort();
    });
    return summary;
  }
}

/** Makes the experiment's row if needed and sets the title and metadata the entry has. */
async function recordExperiment(trx: Kysely<StateSchema>, entry: CatalogEntry, now: number): Promise<void> {
  const changes: { title?: string; catalog?: string } = {};
  if (entry.title !== null) changes.title = entry.title;
  if (Object.keys(entry.metadata).length > 0) changes.catalog = JSON.stringify(entry.metadata);
  await trx
    .insertInto("experiments")
    .values({
      reference: entry.experiment,
      created_at: now,
      title: changes.title ?? null,
      catalog: changes.catalog ?? null,
    })
    .onConflict((oc) =>
      Object.keys(changes).length > 0
        ? oc.column("reference").doUpdateSet(changes)
        : oc.column("reference").doNothing(),
    )
    .execute();
}

/** The stored metadata JSON as an object (anything else, or nothing, as empty). */
export function parseMetadata(text: string | null): Record<string, unknown> {
  if (text === null) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
