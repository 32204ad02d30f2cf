import { type Kysely, type RawBuilder, sql } from "kysely";
import { RefusedError } from "../failures/refused-error.ts";
import type { JobStatus, StateSchema } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/**
 * The runs index: every run a viewer may see, its latest version's status, filtered and sorted,
 * a page at a time by keyset (never OFFSET: a page costs the same on page 1 and page 20,000).
 * Fast on a million runs because the latest version's status, number and job are on `runs`
 * (migration 009, kept by `noteReductionJob`), every filter has an index in page order, and
 * the page's names and times are joined to its 50 rows only.
 */

export type RunSort = "newest" | "run-asc" | "run-desc";
export const RUN_SORTS: readonly RunSort[] = ["newest", "run-asc", "run-desc"];

/** What the index is filtered by; everything optional. */
export interface RunFilter {
  instrument?: string | undefined;
  /** An experiment reference (IPTS-1234, an RB number). */
  experiment?: string | undefined;
  /** The latest version's status. */
  status?: JobStatus | undefined;
  /** Recorded at or after this time (epoch ms). */
  from?: number | undefined;
  /** Recorded before this time (epoch ms). */
  to?: number | undefined;
  /** Title contains this text (any case). */
  title?: string | undefined;
  /** Run numbers: inclusive ranges. */
  runs?: ReadonlyArray<readonly [number, number]> | undefined;
}

/** Which runs a viewer may list (web/auth/viewer.ts `runScope`). */
export type RunIndexScope = { all: true } | { all: false; instruments: string[]; experiments: string[] };

/** One run as the index shows it. */
export interface RunIndexRow {
  instrument: string;
  run_number: number;
  experiment: string;
  title: string | null;
  /** The latest version's status and number (null only while the run is being recorded). */
  status: JobStatus | null;
  version: number | null;
  /** When the run was recorded, and its latest version's start and end (epoch ms). */
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  host: string | null;
}

export interface RunIndexPage {
  rows: RunIndexRow[];
  /** Cursor of the next page in the chosen order (`after`), null on the last page. */
  older: string | null;
  /** Cursor of the page before (`before`), null on the first page. */
  newer: string | null;
}

export const PAGE_SIZE = 50;

/** A page cursor that this index did not make (edited by hand, or of another sort). Bad input. */
export class BadCursorError extends RefusedError {
  override readonly name = "BadCursorError";
  constructor() {
    super("this page link is not valid (it may be from another sort order): start again from the first page");
  }
}

/**
 * Keeps `runs.latest_*` equal to the run's latest reduction version. Called inside every
 * transaction that inserts a reduction job or changes its status (run-store.ts `recordReadyRun`,
 * reduction-store.ts `applyReport` and `cancelLatest`), so the run and its job never disagree.
 * A version at least as new as the one recorded replaces it; a change to an older version
 * leaves the run alone. Jobs of the other kinds have no run: nothing to do.
 */
export async function noteReductionJob(
  trx: Kysely<StateSchema>,
  job: { id: number; kind: string; run_id: number | null; version: number | null; status: JobStatus },
): Promise<void> {
  if (job.kind !== "reduction" || job.run_id === null || job.version === null) return;
  const version = job.version;
  await trx
    .updateTable("runs")
    .set({ latest_job_id: job.id, latest_version: version, latest_status: job.status })
    .where("id", "=", job.run_id)
    .where((eb) => eb.or([eb("latest_version", "is", null), eb("latest_version", "<=", version)]))
    .execute();
}

/** One page of the index. `after`/`before` are cursors of an earlier page (`older`/`newer`). */
export async function runIndexPage(
  database: SqlDatabase,
  scope: RunIndexScope,
  filter: RunFilter,
  sort: RunSort,
  page: { after?: string | undefined; before?: string | undefined; size?: number } = {},
): Promise<RunIndexPage> {
  const size = page.size ?? PAGE_SIZE;
  const backward = page.before !== undefined;
  const cursorText = page.before ?? page.after;
  const cursor = cursorText === undefined ? null : decodeCursor(cursorText, sort);
  const where = await conditions(database, scope, filter);
  if (!where) return { rows: [], older: null, newer: null };
  const fetched = await fetchRows(database, where, filter.title, sort, cursor, backward, size + 1);
  const more = fetched.length > size;
  const rows = fetched.slice(0, size);
  if (backward) {
    // Nothing newer than this page: it is the first page (which may have grown since).
    if (!more) return runIndexPage(database, scope, filter, sort, { size });
    rows.reverse();
    return { rows: rows.map(asRow), newer: cursorOf(sort, rows[0]), older: cursorOf(sort, rows.at(-1)) };
  }
  return {
    rows: rows.map(asRow),
    older: more ? cursorOf(sort, rows.at(-1)) : null,
    newer: cursor ? cursorOf(sort, rows[0]) : null,
  };
}

/**
 * The run numbers the filter selects (an instrument's runs, for a bulk re-run), ascending, at
 * most `max`: ask for one more than allowed to learn that a selection is too large.
 */
export async function runNumbersMatching(
  database: SqlDatabase,
  scope: RunIndexScope,
  filter: RunFilter & { instrument: string },
  max: number,
): Promise<number[]> {
  const where = await conditions(database, scope, filter);
  if (!where) return [];
  const all = filter.title ? [...where, titleCondition(database, filter.title)] : where;
  const { rows } = await sql<{ run_number: number }>`
    select runs.run_number from runs where ${and(all)} order by runs.run_number limit ${max}`.execute(
    database.db,
  );
  return rows.map((r) => Number(r.run_number));
}

/** The instruments whose runs the viewer may see (some or all of them), by name. */
export async function visibleInstruments(database: SqlDatabase, scope: RunIndexScope): Promise<string[]> {
  const { db } = database;
  if (scope.all)
    return (await db.selectFrom("instruments").select("name").orderBy("name").execute()).map((r) => r.name);
  const names = new Set(scope.instruments);
  const experiments = await experimentIds(database, scope.experiments);
  if (experiments.length > 0) {
    const rows = await db
      .selectFrom("instruments")
      .select("name")
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom("runs")
            .select("runs.id")
            .whereRef("runs.instrument_id", "=", "instruments.id")
            .where("runs.experiment_id", "in", experiments),
        ),
      )
      .execute();
    for (const r of rows) names.add(r.name);
  }
  return [...names].sort();
}

type Condition = RawBuilder<unknown>;

const and = (conds: Condition[]): Condition =>
  conds.length === 0 ? sql`1 = 1` : sql.join(conds, sql` and `);

/**
 * The filter and the viewer's scope as conditions on `runs` columns only (names resolved to ids
 * first, so the page query needs no join to choose its rows). Null: nothing can match. The
 * title is not among them: each query places it where its index serves it.
 */
async function conditions(
  database: SqlDatabase,
  scope: RunIndexScope,
  filter: RunFilter,
): Promise<Condition[] | null> {
  const conds: Condition[] = [];
  let instrumentId: number | null = null;
  let experimentId: number | null = null;
  if (filter.instrument !== undefined) {
    instrumentId = (await instrumentIds(database, [filter.instrument.toUpperCase()]))[0] ?? null;
    if (instrumentId === null) return null;
    conds.push(sql`runs.instrument_id = ${instrumentId}`);
  }
  if (filter.experiment !== undefined) {
    const given = filter.experiment.trim();
    experimentId = (await experimentIds(database, [...new Set([given, given.toUpperCase()])]))[0] ?? null;
    if (experimentId === null) return null;
    conds.push(sql`runs.experiment_id = ${experimentId}`);
  }
  if (!scope.all) {
    const instruments = await instrumentIds(database, scope.instruments);
    const experiments = await experimentIds(database, scope.experiments);
    // The simplest condition that says the same, so that the planner uses the filter's index.
    const byInstrument =
      instruments.length > 0 ? sql`runs.instrument_id in (${sql.join(instruments)})` : null;
    const byExperiment =
      experiments.length > 0 ? sql`runs.experiment_id in (${sql.join(experiments)})` : null;
    const open =
      (instrumentId !== null && instruments.includes(instrumentId)) ||
      (experimentId !== null && experiments.includes(experimentId));
    if (!open) {
      const either = [byInstrument, byExperiment].filter((c): c is Condition => c !== null);
      if (either.length === 0) return null;
      conds.push(either.length === 1 ? (either[0] as Condition) : sql`(${sql.join(either, sql` or `)})`);
    }
  }
  if (filter.status !== undefined) conds.push(sql`runs.latest_status = ${filter.status}`);
  if (filter.from !== undefined) conds.push(sql`runs.created_at >= ${filter.from}`);
  if (filter.to !== undefined) conds.push(sql`runs.created_at < ${filter.to}`);
  if (filter.runs && filter.runs.length > 0) {
    const parts = filter.runs.map(([first, last]) =>
      first === last ? sql`runs.run_number = ${first}` : sql`runs.run_number between ${first} and ${last}`,
    );
    conds.push(sql`(${sql.join(parts, sql` or `)})`);
  }
  return conds;
}

async function instrumentIds(database: SqlDatabase, names: readonly string[]): Promise<number[]> {
  if (names.length === 0) return [];
  const rows = await database.db.selectFrom("instruments").select("id").where("name", "in", names).execute();
  return rows.map((r) => Number(r.id));
}

async function experimentIds(database: SqlDatabase, references: readonly string[]): Promise<number[]> {
  if (references.length === 0) return [];
  const rows = await database.db
    .selectFrom("experiments")
    .select("id")
    .where("reference", "in", references)
    .orderBy("id")
    .execute();
  return rows.map((r) => Number(r.id));
}

/** Shortest title text a trigram index can find; shorter text is matched by scanning. */
const TRIGRAM = 3;
/** PostgreSQL title search: rows of the newest candidates looked at before asking the index. */
const TITLE_WINDOW = 20_000;

/** Title contains `text`, in any case: the trigram index (SQLite FTS5), or LIKE/ILIKE. */
function titleCondition(database: SqlDatabase, text: string): Condition {
  if (database.dialect === "sqlite" && text.length >= TRIGRAM)
    return sql`runs.id in (select rowid from runs_title_search where runs_title_search match ${ftsPhrase(text)})`;
  return likeCondition(database, text);
}

function likeCondition(database: SqlDatabase, text: string): Condition {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return database.dialect === "sqlite"
    ? sql`runs.title like ${pattern} escape '\\'`
    : sql`runs.title ilike ${pattern} escape '\\'`;
}

/** FTS5 with the trigram tokenizer finds a quoted phrase as a substring, in any case. */
const ftsPhrase = (text: string) => `"${text.replace(/"/g, '""')}"`;

interface Keyset {
  /** Columns of the order, most significant first. */
  columns: readonly string[];
  descending: boolean;
}

function keyset(sort: RunSort, backward: boolean): Keyset {
  const columns = sort === "newest" ? ["id"] : ["run_number", "id"];
  return { columns, descending: (sort !== "run-asc") !== backward };
}

const INNER_COLUMNS = sql.raw(
  [
    "runs.id",
    "runs.run_number",
    "runs.title",
    "runs.created_at",
    "runs.instrument_id",
    "runs.experiment_id",
    "runs.latest_job_id",
    "runs.latest_version",
    "runs.latest_status",
  ].join(", "),
);

interface RawRow {
  id: number;
  run_number: number;
  title: string | null;
  created_at: number;
  latest_status: JobStatus | null;
  latest_version: number | null;
  instrument: string;
  experiment: string;
  started_at: number | null;
  finished_at: number | null;
  host: string | null;
}

/**
 * The page's rows (`limit` of them at most) in keyset order. Without a title the filter's index
 * gives them in order. With one, each database is served its own way:
 * - SQLite, newest first: the FTS5 table in rowid order drives (`order by rowid desc` streams
 *   from the trigram index and stops at the page's end, for rare and common words alike);
 * - otherwise the newest `TITLE_WINDOW` candidates are scanned first (a common word fills the
 *   page there), then all matches are found by the index and sorted (a rare word has few).
 */
async function fetchRows(
  database: SqlDatabase,
  conds: Condition[],
  title: string | undefined,
  sort: RunSort,
  cursor: number[] | null,
  backward: boolean,
  limit: number,
): Promise<RawRow[]> {
  const order = keyset(sort, backward);
  const page = cursor ? [...conds, after(order, cursor, "runs")] : conds;
  if (title === undefined)
    return withNames(database, sql`select ${INNER_COLUMNS} from runs where ${and(page)}`, order, limit);
  if (database.dialect === "sqlite" && title.length >= TRIGRAM && sort === "newest") {
    const keyed = cursor ? [...conds, after(order, cursor, "runs_title_search", "rowid")] : conds;
    const inner = sql`select ${INNER_COLUMNS} from runs_title_search join runs on runs.id = runs_title_search.rowid
      where runs_title_search match ${ftsPhrase(title)} and ${and(keyed)}
      order by runs_title_search.rowid ${sql.raw(order.descending ? "desc" : "asc")} limit ${limit}`;
    return withNames(database, inner, order, limit, true);
  }
  const titled = [...page, titleCondition(database, title)];
  if (database.dialect === "postgres") {
    const window = sql`select ${INNER_COLUMNS} from runs where ${and(page)} ${orderBy(order, "runs")} limit ${TITLE_WINDOW}`;
    const first = await withNames(
      database,
      sql`select * from (${window}) runs where ${likeCondition(database, title)}`,
      order,
      limit,
    );
    if (first.length === limit) return first;
  }
  const matches = sql`with matches as materialized (select ${INNER_COLUMNS} from runs where ${and(titled)})`;
  return withNames(database, sql`select * from matches`, order, limit, false, matches);
}

/**
 * Orders and limits the candidate rows (`inner`, selecting INNER_COLUMNS), then joins the
 * page's names and its latest job's times: look-ups by primary key for `limit` rows only.
 * `ordered`: `inner` is already ordered and limited.
 */
async function withNames(
  database: SqlDatabase,
  inner: RawBuilder<unknown>,
  order: Keyset,
  limit: number,
  ordered = false,
  prefix: RawBuilder<unknown> = sql``,
): Promise<RawRow[]> {
  const page = ordered
    ? inner
    : sql`select * from (${inner}) candidates ${orderBy(order, "candidates")} limit ${limit}`;
  const { rows } = await sql<RawRow>`${prefix}
    select r.id, r.run_number, r.title, r.created_at, r.latest_status, r.latest_version,
      i.name as instrument, e.reference as experiment, j.started_at, j.finished_at, j.host
    from (${page}) r
    join instruments i on i.id = r.instrument_id
    join experiments e on e.id = r.experiment_id
    left join jobs j on j.id = r.latest_job_id
    ${orderBy(order, "r")}`.execute(database.db);
  return rows;
}

function orderBy(order: Keyset, table: string): RawBuilder<unknown> {
  const direction = order.descending ? "desc" : "asc";
  return sql.raw(`order by ${order.columns.map((c) => `${table}.${c} ${direction}`).join(", ")}`);
}

/** Rows after the cursor in this order: a row-value comparison the index serves on both databases. */
function after(order: Keyset, cursor: number[], table: string, idColumn = "id"): Condition {
  const columns = order.columns.map((c) => `${table}.${c === "id" ? idColumn : c}`);
  const op = sql.raw(order.descending ? "<" : ">");
  if (columns.length === 1) return sql`${sql.raw(columns[0] ?? "")} ${op} ${cursor[0]}`;
  return sql`(${sql.raw(columns.join(", "))}) ${op} (${sql.join(cursor)})`;
}

function cursorOf(sort: RunSort, row: RawRow | undefined): string | null {
  if (!row) return null;
  const keys = sort === "newest" ? [Number(row.id)] : [Number(row.run_number), Number(row.id)];
  return Buffer.from(JSON.stringify([sort, ...keys])).toString("base64url");
}

function decodeCursor(text: string, sort: RunSort): number[] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw new BadCursorError();
  }
  const length = sort === "newest" ? 2 : 3;
  if (!Array.isArray(value) || value.length !== length || value[0] !== sort) throw new BadCursorError();
  const keys = value.slice(1);
  if (!keys.every((k) => Number.isSafeInteger(k))) throw new BadCursorError();
  return keys as number[];
}

function asRow(r: RawRow): RunIndexRow {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    instrument: r.instrument,
    run_number: Number(r.run_number),
    experiment: r.experiment,
    title: r.title,
    status: r.latest_status,
    version: num(r.latest_version),
    created_at: Number(r.created_at),
    started_at: num(r.started_at),
    finished_at: num(r.finished_at),
    host: r.host,
  };
}
