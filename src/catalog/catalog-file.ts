import { z } from "zod";
import { RefusedError } from "../failures/refused-error.ts";
import { experimentProblem } from "../messages/path-component.ts";
import { USERNAME } from "../store/user-store.ts";

/**
 * A user-office export of who belongs to which experiment, read into catalog entries. Two forms:
 *
 * - CSV with a header row naming its columns: `experiment` and `username` (required), `title`,
 *   `pi`, `start`, `end`, `proposal` (optional, in any order); one line per member, so an
 *   experiment's lines repeat its metadata (they must agree) and a line with an empty username
 *   describes an experiment without adding anyone;
 * - JSON: `[{experiment, title?, members: [...], pi?, start?, end?, <more metadata>}]`, one entry
 *   per experiment.
 *
 * Every line (entry) is checked, and all problems are reported together, each naming its line
 * (entry), so that a bad export is fixed in one pass; nothing is imported from a file with a problem.
 */

/** One experiment as the catalog describes it. */
export interface CatalogEntry {
  experiment: string;
  title: string | null;
  /** User names, sorted, without duplicates. */
  members: string[];
  /** PI, dates, proposal and whatever else the export has (stored as `experiments.catalog`). */
  metadata: Record<string, unknown>;
}

/** The file cannot be imported: every problem found, each naming its line or entry. */
export class CatalogFileError extends RefusedError {
  override readonly name = "CatalogFileError";
  constructor(readonly problems: string[]) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN);
    const more = problems.length - shown.length;
    super(
      `nothing imported: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n  ${shown.join("\n  ")}${more > 0 ? `\n  … and ${more} more` : ""}`,
    );
  }
}

const MAX_PROBLEMS_SHOWN = 50;
const CSV_COLUMNS = ["experiment", "username", "title", "pi", "start", "end", "proposal"] as const;
type CsvColumn = (typeof CSV_COLUMNS)[number];
const METADATA_COLUMNS = ["pi", "start", "end", "proposal"] as const;
/** `2026-03-01` or an ISO date and time. */
const DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export type CatalogFormat = "csv" | "json";

/** The format of an export: by its file name's extension, else by its first character (`[` is JSON). */
export function catalogFormat(fileName: string, text: string): CatalogFormat {
  if (/\.json$/i.test(fileName)) return "json";
  if (/\.csv$/i.test(fileName)) return "csv";
  return text.trimStart().startsWith("[") ? "json" : "csv";
}

/** Reads an export in either form. Throws CatalogFileError. */
export function parseCatalogFile(text: string, format: CatalogFormat): CatalogEntry[] {
  if (format === "csv") return parseCatalogCsv(text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CatalogFileError([`not JSON: ${(e as Error).message}`]);
  }
  return parseCatalogJson(json);
}

/** Why an experiment name cannot be used, or null. */
function experimentNameProblem(value: string): string | null {
  const problem = experimentProblem(value);
  return problem ? `experiment ${problem}` : null;
}

function usernameProblem(value: string): string | null {
  return USERNAME.test(value)
    ? null
    : `bad user name ${JSON.stringify(value)}: letters, digits and _ . @ - (up to 100, not starting with punctuation)`;
}

function dateProblem(column: string, value: string): string | null {
  return DATE.test(value) && !Number.isNaN(Date.parse(value.replace(" ", "T")))
    ? null
    : `${column} ${JSON.stringify(value)} is not a date (write 2026-03-01 or 2026-03-01T09:00Z)`;
}

/** An experiment being gathered from several lines: where each of its facts came from. */
interface Gathered {
  entry: CatalogEntry;
  firstLine: number;
  factLine: Map<string, number>;
}

/** Reads the CSV form. Throws CatalogFileError naming every bad line. */
export function parseCatalogCsv(text: string): CatalogEntry[] {
  const records = csvRecords(text.replace(/^\uFEFF/, ""));
  const problems: string[] = [];
  const header = records.find((r) => !isBlank(r.fields));
  if (!header)
    throw new CatalogFileError(["the file is empty: it needs a header row (experiment,username,…)"]);
  const columns = header.fields.map((f) => f.trim().toLowerCase());
  for (const [i, name] of columns.entries()) {
    if (!(CSV_COLUMNS as readonly string[]).includes(name))
      problems.push(
        `line ${header.line}: unknown column ${JSON.stringify(header.fields[i])} (known: ${CSV_COLUMNS.join(", ")})`,
      );
    else if (columns.indexOf(name) !== i)
      problems.push(`line ${header.line}: column "${name}" appears twice`);
  }
  for (const required of ["experiment", "username"])
    if (!columns.includes(required))
      problems.push(`line ${header.line}: the header has no "${required}" column`);
  if (problems.length > 0) throw new CatalogFileError(problems);

  const byExperiment = new Map<string, Gathered>();
  for (const record of records) {
    if (record === header) continue;
    const line = record.line;
    if (record.problem) {
      problems.push(`line ${line}: ${record.problem}`);
      continue;
    }
    if (isBlank(record.fields)) continue;
    if (record.fields.length !== columns.length) {
      problems.push(`line ${line}: ${record.fields.length} fields, but the header has ${columns.length}`);
      continue;
    }
    const row = Object.fromEntries(columns.map((c, i) => [c, record.fields[i]?.trim() ?? ""])) as Record<
      CsvColumn,
      string | undefined
    >;
    const lineProblems = csvRowProblems(row);
    if (lineProblems.length > 0) {
      problems.push(...lineProblems.map((p) => `line ${line}: ${p}`));
      continue;
    }
    const experiment = row.experiment ?? "";
    let gathered = byExperiment.get(experiment);
    if (!gathered) {
      gathered = {
        entry: { experiment, title: null, members: [], metadata: {} },
        firstLine: line,
        factLine: new Map(),
      };
      byExperiment.set(experiment, gathered);
    }
    if (row.username) gathered.entry.members.push(row.username);
    for (const fact of ["title", ...METADATA_COLUMNS] as const) {
      const value = row[fact];
      if (!value) continue;
      const known = fact === "title" ? gathered.entry.title : gathered.entry.metadata[fact];
      if (known === null || known === undefined) {
        if (fact === "title") gathered.entry.title = value;
        else gathered.entry.metadata[fact] = value;
        gathered.factLine.set(fact, line);
      } else if (known !== value) {
        problems.push(
          `line ${line}: ${experiment} has ${fact} ${JSON.stringify(value)} here but ${JSON.stringify(known)} on line ${gathered.factLine.get(fact)}`,
        );
      }
    }
  }
  if (problems.length > 0) throw new CatalogFileError(problems);
  return [...byExperiment.values()].map((g) => ({ ...g.entry, members: uniqueSorted(g.entry.members) }));
}

function csvRowProblems(row: Record<CsvColumn, string | undefined>): string[] {
  const problems: string[] = [];
  const experiment = row.experiment ?? "";
  const badExperiment = experiment === "" ? "no experiment" : experimentNameProblem(experiment);
  if (badExperiment) problems.push(badExperiment);
  if (row.username) {
    const bad = usernameProblem(row.username);
    if (bad) problems.push(bad);
  }
  for (const column of ["start", "end"] as const) {
    const value = row[column];
    const bad = value ? dateProblem(column, value) : null;
    if (bad) problems.push(bad);
  }
  return problems;
}

const isBlank = (fields: string[]) => fields.every((f) => f.trim() === "");

interface CsvRecord {
  /** The line the record starts on (1-based). */
  line: number;
  fields: string[];
  /** Why the record is malformed (an unclosed quote), when it is. */
  problem?: string;
}

/** Splits CSV text into records (RFC 4180: quoted fields may hold commas, `""` and line breaks). */
function csvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let start = 1;
  let quoted = false;
  let wasQuoted = false;
  const endField = () => {
    fields.push(field);
    field = "";
    wasQuoted = false;
  };
  const endRecord = () => {
    endField();
    records.push({ line: start, fields });
    fields = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && field.trim() === "" && !wasQuoted) {
      field = "";
      quoted = true;
      wasQuoted = true;
    } else if (c === ",") endField();
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      start = line;
    } else field += c;
  }
  if (quoted) {
    records.push({ line: start, fields: [], problem: 'a quoted field is never closed (a missing ")' });
    return records;
  }
  if (field !== "" || fields.length > 0) endRecord();
  return records;
}

const JsonEntry = z.looseObject({
  experiment: z.union([z.string(), z.number()]).transform(String),
  title: z.string().max(1000).nullable().optional(),
  members: z.array(z.string()),
  pi: z.string().max(1000).nullable().optional(),
  start: z.string().nullable().optional(),
  end: z.string().nullable().optional(),
});

/** Reads the JSON form (already parsed: the API's body). Throws CatalogFileError naming every bad entry. */
export function parseCatalogJson(json: unknown): CatalogEntry[] {
  if (!Array.isArray(json))
    throw new CatalogFileError([
      'the JSON must be an array of experiments: [{"experiment": "IPTS-1234", "members": ["alice"], …}]',
    ]);
  const problems: string[] = [];
  const entries: CatalogEntry[] = [];
  const seen = new Map<string, number>();
  json.forEach((raw: unknown, index) => {
    const where = `entry ${index + 1}`;
    const parsed = JsonEntry.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const at = issue.path.length > 0 ? issue.path.join(".") : "(the entry)";
        const absent = /received undefined/.test(issue.message) || !hasKey(raw, issue.path[0]);
        problems.push(
          `${where}: ${at}: ${absent ? "missing" : issue.message.replace(/^Invalid input: /, "")}`,
        );
      }
      return;
    }
    const { experiment, title, members, pi, start, end, ...extra } = parsed.data;
    const named = `${where} (${experiment})`;
    const own: string[] = [];
    const badExperiment = experimentNameProblem(experiment);
    if (badExperiment) own.push(badExperiment);
    members.forEach((m, i) => {
      const bad = usernameProblem(m);
      if (bad) own.push(`members[${i}]: ${bad}`);
    });
    for (const [column, value] of [
      ["start", start],
      ["end", end],
    ] as const) {
      const bad = value ? dateProblem(column, value) : null;
      if (bad) own.push(bad);
    }
    const first = seen.get(experiment);
    if (first !== undefined) own.push(`${experiment} is also entry ${first}: give each experiment once`);
    seen.set(experiment, index + 1);
    if (own.length > 0) {
      problems.push(...own.map((p) => `${named}: ${p}`));
      return;
    }
    const metadata: Record<string, unknown> = { ...extra };
    if (pi) metadata.pi = pi;
    if (start) metadata.start = start;
    if (end) metadata.end = end;
    entries.push({ experiment, title: title ?? null, members: uniqueSorted(members), metadata });
  });
  if (problems.length > 0) throw new CatalogFileError(problems);
  return entries;
}

/** Whether an entry has this key (a union's "invalid input" for a missing key says nothing useful). */
function hasKey(raw: unknown, key: PropertyKey | undefined): boolean {
  return key === undefined || typeof raw !== "object" || raw === null || String(key) in raw;
}

function uniqueSorted(names: string[]): string[] {
  return [...new Set(names)].sort();
}
