import { z } from "zod";
import { normalizeDestination, parseDestination } from "../messages/destinations.ts";
import { ConfigError } from "./config-error.ts";
import type { ConfigInput } from "./config-schema.ts";

/**
 * Reads the SNS post-processing agent's `/etc/autoreduce/post_processing.conf` (JSON) so that our
 * worker can take the agent's place on an SNS node with the same file. Every key ends up either
 * used (mapped onto our config) or ignored with a reason an operator understands; nothing is
 * dropped silently. Pure: the caller reads the file and prints the report.
 */

type Section<K extends keyof ConfigInput> = NonNullable<ConfigInput[K]>;

/** The part of `autoreduce.yaml` an SNS file decides; merged over the yaml (see `mergePostProcessingConf`). */
export interface PostProcessingConfig {
  queues: Section<"queues">;
  scripts: Section<"scripts">;
  output: Section<"output">;
  worker: Section<"worker">;
  archive?: Section<"archive">;
  log_level?: ConfigInput["log_level"];
}

/** An SNS key that became one or more of our settings. `key` is `(agent rule)` for what the agent implies. */
export interface UsedKey {
  key: string;
  target: string;
  note?: string;
}

/** An SNS key our worker does not use, and why. */
export interface IgnoredKey {
  key: string;
  reason: string;
}

/**
 * The broker settings, for the STOMP transport. `password` is not enumerable, so printing or
 * serialising this object does not show it; read it by name.
 */
export interface SnsBroker {
  /** `[host, port]` pairs from `brokers`, else the `tcp://host:port` entries of `failover_uri`. */
  brokers: Array<[string, number]>;
  user: string | null;
  password: string | null;
  failover_uri: string | null;
}

/** What an SNS agent file means for our worker. */
export interface PostProcessingConf {
  /** The file it was read from. */
  source: string;
  config: PostProcessingConfig;
  used: UsedKey[];
  ignored: IgnoredKey[];
  /** Null when the file names no broker, user or password. */
  broker: SnsBroker | null;
}

const Destination = z.string().min(1);
const LEVEL_ERROR = "one of DEBUG, INFO, WARNING, ERROR, CRITICAL";

/** Types of the keys we use (the rest are only reported). Secrets are never echoed in messages. */
const SnsFileSchema = z.looseObject({
  amq_user: z.string().optional(),
  amq_pwd: z.string().optional(),
  failover_uri: z.string().optional(),
  brokers: z.array(z.tuple([z.string().min(1), z.number().int().min(1).max(65535)])).optional(),
  log_level: z
    .string()
    .transform((s) => s.toUpperCase())
    .pipe(z.enum(["DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL"], { error: LEVEL_ERROR }))
    .optional(),
  postprocess_error: Destination.optional(),
  reduction_started: Destination.optional(),
  reduction_complete: Destination.optional(),
  reduction_error: Destination.optional(),
  reduction_disabled: Destination.optional(),
  reduction_data_ready: z
    .union([Destination, z.array(Destination)], { error: "a queue name or a list of queue names" })
    .optional(),
  amq_queues: z.array(Destination).optional(),
  heart_beat: Destination.optional(),
  heartbeat_ping: Destination.optional(),
  create_reduction_script: Destination.optional(),
  service_status: Destination.optional(),
  python_exec: z.string().regex(/^\S+$/, "one executable, without arguments").optional(),
  dev_instrument_shared: z.string().optional(),
  dev_output_dir: z.string().optional(),
  max_procs: z.number().int().min(1).optional(),
  jobs_per_instrument: z.number().int().min(0).optional(),
  communication_only: z.union([z.literal(0), z.literal(1), z.boolean()], { error: "0 or 1" }).optional(),
  exceptions: z.array(z.string()).optional(),
  processors: z.array(z.string()).optional(),
  system_mem_limit_perc: z.number().positive().max(100).optional(),
  mem_check_interval_sec: z.number().positive().optional(),
  task_time_limit_minutes: z.number().positive().optional(),
  // ----- ours (the agent ignores keys it does not know) -----
  /** Folders data files must lie in, in place of the agent rule's /SNS and /HFIR (a test tree, say). */
  autoreduce_archive_roots: z.array(z.string().min(1).regex(/^\//, "an absolute path")).min(1).optional(),
});
type SnsFile = z.infer<typeof SnsFileSchema>;

const SECRET_KEYS = new Set(["amq_pwd", "publisher_password", "oncat_api_token", "jolokia_pwd"]);

const NO_ADMIN = "our worker runs reductions itself; there is no PostProcessAdmin.py";
const ONCAT = "ONCat cataloguing is not built in; keep an SNS agent with only its ONCat processors for it";
const PUBLISHER = "read by plot_publisher (plots uploaded by reduction scripts), not by the agent; leave it";
const OLD_CATALOG =
  "legacy cataloguing queue name (the agent hard-codes its queues); cataloguing is not built in";
const DISCOVERY =
  "per-instrument queue discovery (Jolokia) is not supported; the worker takes the queues above";

/** Keys that are always ignored, with the reason shown to the operator. */
const IGNORED: Record<string, string> = Object.fromEntries(
  (
    [
      [NO_ADMIN, "sw_dir python_dir start_script task_script task_script_queue_arg task_script_data_arg"],
      [ONCAT, "oncat_url oncat_api_token image_filepath_metadata_paths"],
      [PUBLISHER, "publish_url_template publisher_username publisher_password publisher_certificate"],
      [OLD_CATALOG, "catalog_data_ready catalog_started catalog_complete catalog_error"],
      [OLD_CATALOG, "reduction_catalog_data_ready reduction_catalog_started reduction_catalog_complete"],
      [OLD_CATALOG, "reduction_catalog_error"],
      [DISCOVERY, "per_instrument_queues jolokia_urls jolokia_user jolokia_pwd"],
      ["our worker logs JSON lines to stderr (the journal under systemd); it keeps no log file", "log_file"],
      ["legacy; the agent does not use it either", "mantid_path webmon_url_template"],
      ["legacy (removed from the agent); reductions run on this node", "remote_execution"],
      ["Calvera cataloguing is not built in", "calvera_ingest_url"],
      ["INTERSECT cataloguing is not built in", "intersect_ingest_url"],
    ] as const
  ).flatMap(([reason, keys]) => keys.split(" ").map((key) => [key, reason])),
);

/** Destination keys → our `queues.*`, with the name the agent itself hard-codes (if it does). */
const QUEUE_KEYS: Array<[keyof SnsFile & string, keyof Section<"queues">, string | null]> = [
  ["postprocess_error", "postprocess_error", null],
  ["reduction_started", "reduction_started", "/queue/REDUCTION.STARTED"],
  ["reduction_complete", "reduction_complete", "/queue/REDUCTION.COMPLETE"],
  ["reduction_error", "reduction_error", "/queue/REDUCTION.ERROR"],
  ["reduction_disabled", "reduction_disabled", "/queue/REDUCTION.DISABLED"],
  ["heart_beat", "heartbeat", null],
  ["heartbeat_ping", "heartbeat_ping", null],
  ["create_reduction_script", "create_script", "/queue/REDUCTION.CREATE_SCRIPT"],
];

/** Number keys → our `worker.*`. */
const WORKER_NUMBERS: Array<[keyof SnsFile & string, keyof Section<"worker">, string?]> = [
  ["max_procs", "max_procs"],
  ["jobs_per_instrument", "jobs_per_instrument", "0 = no limit; jobs over it wait in the worker, not NACKed"],
  ["mem_check_interval_sec", "check_interval_seconds"],
  ["task_time_limit_minutes", "time_limit_minutes"],
];

/** The agent's reduction processors and the queue each takes. */
const REDUCTION_PROCESSORS: Record<string, string> = {
  "reduction_processor.ReductionProcessor": "/queue/REDUCTION.DATA_READY",
  "reduction_processor.ReductionProcessorHighMemory": "/queue/REDUCTION.HIMEM.DATA_READY",
};
const CREATE_SCRIPT_PROCESSOR = "create_reduction_script_processor.CreateReductionScriptProcessor";
const OTHER_PROCESSORS: Array<[RegExp, string]> = [
  [/^oncat/, ONCAT],
  [/^calvera/, "Calvera cataloguing is not built in"],
  [/^intersect/, "INTERSECT cataloguing is not built in"],
  [/^job_tree\./, "job trees are retired in the agent too"],
  [/^test_processor\./, "the agent's echo test processor"],
];

const LOG_LEVELS = {
  DEBUG: "debug",
  INFO: "info",
  WARNING: "warn",
  WARN: "warn",
  ERROR: "error",
  CRITICAL: "error",
  FATAL: "error",
} as const;
const AGENT_EXCEPTIONS = ["Error in logging framework"];
const SNS_OUTPUT_DIR = "{facility}/{instrument}/{experiment}/shared/autoreduce";
/** Where SNS and HFIR raw data lie; a job's data file must be under one (links resolved). */
const SNS_ARCHIVE_ROOTS = ["/SNS", "/HFIR"] as const;

/** Collects the mapping; `use`/`ignore` record where each key went. */
class Mapping {
  readonly config: PostProcessingConfig = { queues: {}, scripts: {}, output: {}, worker: {} };
  readonly used: UsedKey[] = [];
  readonly ignored: IgnoredKey[] = [];
  use(key: string, target: string, note?: string): void {
    this.used.push(note ? { key, target, note } : { key, target });
  }
  ignore(key: string, reason: string): void {
    this.ignored.push({ key, reason });
  }
  /** Ignores every key not yet accounted for, then puts both lists in the file's order. */
  ignoreTheRest(keys: string[]): void {
    const accounted = new Set([...this.used, ...this.ignored].map((entry) => entry.key));
    for (const key of keys.filter((k) => !accounted.has(k))) {
      this.ignore(key, IGNORED[key] ?? "unknown key (not an SNS agent key)");
    }
    // What the agent implies without a key comes last.
    const order = ({ key }: { key: string }) => (keys.includes(key) ? keys.indexOf(key) : keys.length);
    this.used.sort((a, b) => order(a) - order(b));
    this.ignored.sort((a, b) => order(a) - order(b));
  }
}

/**
 * Reads the text of an SNS agent config. Throws ConfigError (with `source` as the file) for
 * invalid JSON (with line and column), wrong types (naming the key), patterns that do not compile,
 * and settings our worker cannot honour safely (`communication_only: 1`).
 */
export function readPostProcessingConf(text: string, source: string): PostProcessingConf {
  const file = validate(parseJson(text.replace(/^\uFEFF/, ""), source), source);
  const m = new Mapping();
  mapQueues(file, m);
  mapWorkerQueues(file, m);
  mapWorker(file, m);
  mapLayout(file, m);
  if (file.log_level !== undefined) {
    const level = LOG_LEVELS[file.log_level];
    m.config.log_level = level;
    m.use("log_level", "log_level", level);
  }
  if (file.communication_only !== undefined)
    m.ignore("communication_only", "0 (run scripts) is what our worker always does");
  const broker = readBroker(file, m);
  m.ignoreTheRest(Object.keys(file));
  return { source, config: m.config, used: m.used, ignored: m.ignored, broker };
}

function validate(raw: unknown, source: string): SnsFile {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, ["the file must hold one JSON object { ... }"]);
  }
  const result = SnsFileSchema.safeParse(raw);
  const problems = result.success
    ? []
    : result.error.issues.map(
        (issue) => `${keyPath(issue.path)}: ${issue.message.replace(/^Invalid input: /, "")}`,
      );
  const file = result.success ? result.data : (raw as SnsFile);
  if (result.success) problems.push(...exceptionProblems(file.exceptions ?? []));
  if (file.communication_only === 1 || file.communication_only === true) {
    problems.push(
      "communication_only: 1 (answer messages without running scripts) is not supported: our worker " +
        "always runs them. Keep the SNS agent on a node meant not to reduce, or do not start the worker there.",
    );
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return file;
}

function exceptionProblems(exceptions: string[]): string[] {
  return exceptions.flatMap((pattern, i) => {
    if (pattern === "")
      return [`exceptions[${i}]: an empty pattern would excuse every stderr error; remove it`];
    try {
      new RegExp(pattern);
      return [];
    } catch (e) {
      return [`exceptions[${i}]: not a regular expression our worker can use (${(e as Error).message})`];
    }
  });
}

function mapQueues(file: SnsFile, m: Mapping): void {
  for (const [key, ours, agentUses] of QUEUE_KEYS) {
    const value = file[key];
    if (typeof value !== "string") continue;
    const destination = normalizeDestination(value);
    m.config.queues[ours] = destination;
    const differs = agentUses !== null && destination !== agentUses;
    m.use(key, `queues.${ours}`, differs ? `the agent itself always used ${agentUses}` : undefined);
  }
  if (file.service_status !== undefined) {
    const topic = normalizeDestination(
      file.service_status.replace(/\$\{instrument\}|\$instrument\b/g, "{instrument}"),
    );
    m.config.queues.service_status = topic;
    m.use("service_status", "queues.service_status", topic);
  }
}

/**
 * Which reduction queues this node takes. The agent subscribes to the queues of the reduction
 * processors named in `processors` (`reduction_data_ready` is then read but unused); files that
 * name none (older agents) list them in `reduction_data_ready` and `amq_queues`.
 */
function mapWorkerQueues(file: SnsFile, m: Mapping): void {
  const fromProcessors = mapProcessors(file.processors, m);
  if (fromProcessors.length > 0) {
    m.config.worker.queues = fromProcessors;
    for (const key of ["reduction_data_ready", "amq_queues"] as const) {
      if (file[key] === undefined) continue;
      m.ignore(key, "the agent takes its queues from `processors` when it names a reduction processor");
    }
    return;
  }
  const listed = [file.reduction_data_ready ?? []].flat().map(normalizeDestination);
  const older = file.processors ? " (`processors` names no reduction processor: an older agent's file)" : "";
  if (file.reduction_data_ready !== undefined)
    m.use("reduction_data_ready", "worker.queues", listed.join(", ") + older);
  for (const entry of file.amq_queues ?? []) {
    const destination = normalizeDestination(entry);
    const { kind, name } = parseDestination(destination);
    if (kind === "queue" && /^REDUCTION\.([A-Z0-9_]+\.)*DATA_READY$/.test(name)) {
      listed.push(destination);
      m.use("amq_queues", "worker.queues", destination);
    } else if (name === "REDUCTION.CREATE_SCRIPT") {
      m.ignore(
        "amq_queues",
        `${destination}: the worker always takes script requests (queues.create_script)`,
      );
    } else {
      m.ignore(
        "amq_queues",
        `${destination}: not a reduction queue; cataloguing and the like are not built in`,
      );
    }
  }
  if (listed.length > 0) m.config.worker.queues = [...new Set(listed)];
}

/** Reports every processor; returns the reduction queues of the reduction processors named. */
function mapProcessors(processors: string[] | undefined, m: Mapping): string[] {
  if (processors === undefined) return [];
  if (processors.length === 0) m.ignore("processors", "an empty list");
  const queues: string[] = [];
  for (const processor of processors) {
    const queue = REDUCTION_PROCESSORS[processor];
    if (queue) {
      queues.push(queue);
      m.use("processors", "worker.queues", `${processor}: ${queue}`);
    } else if (processor === CREATE_SCRIPT_PROCESSOR) {
      m.use("processors", "queues.create_script", `${processor}: built in`);
    } else {
      const reason = OTHER_PROCESSORS.find(([pattern]) => pattern.test(processor))?.[1];
      m.ignore(
        "processors",
        `${processor}: ${reason ?? "not built in (only reduction and script creation are)"}`,
      );
    }
  }
  if (queues.length > 0 && !processors.includes(CREATE_SCRIPT_PROCESSOR)) {
    m.use(
      "processors",
      "queues.create_script",
      "the worker takes script requests although the list omits them",
    );
  }
  return [...new Set(queues)];
}

function mapWorker(file: SnsFile, m: Mapping): void {
  for (const [key, ours, note] of WORKER_NUMBERS) {
    const value = file[key];
    if (typeof value !== "number") continue;
    Object.assign(m.config.worker, { [ours]: value });
    m.use(key, `worker.${ours}`, note);
  }
  if (file.system_mem_limit_perc !== undefined) {
    m.config.worker.memory_limit = `${file.system_mem_limit_perc}%`;
    m.use("system_mem_limit_perc", "worker.memory_limit", m.config.worker.memory_limit);
  }
  m.config.worker.success = "stderr";
  m.config.worker.sns_compatible = true;
  m.config.worker.exceptions = [...(file.exceptions ?? AGENT_EXCEPTIONS)];
  m.use(
    file.exceptions ? "exceptions" : "(agent rule)",
    "worker.exceptions, worker.success = stderr",
    (file.exceptions ? "" : `the agent's default ${JSON.stringify(AGENT_EXCEPTIONS)}; `) +
      "anything on stderr is an error unless its error line matches one of these; " +
      "the exit code counts only when stderr is empty (the agent never reads it)",
  );
  m.use(
    "(agent rule)",
    "worker.sns_compatible",
    "the agent's replies: a missing data file or field goes to POSTPROCESS.ERROR at once, " +
      "the agent's texts for limit kills, STARTED before DISABLED, the .err removed after a success",
  );
  if (file.python_exec !== undefined) {
    m.config.scripts.interpreter = file.python_exec;
    const wrapper = file.python_exec.endsWith("mantidpython.py");
    m.use(
      "python_exec",
      "scripts.interpreter",
      wrapper ? "the agent's RPM installs this wrapper; keep it installed" : undefined,
    );
  }
}

/**
 * Where scripts, reduced data and raw data are: the agent's fixed layout, unless
 * `dev_instrument_shared` (one folder with every instrument's `reduce_<INST>.py`) or
 * `dev_output_dir` (one output folder for every run) override it, as the agent applies them.
 */
function mapLayout(file: SnsFile, m: Mapping): void {
  const roots = file.autoreduce_archive_roots ?? [...SNS_ARCHIVE_ROOTS];
  m.config.archive = { roots };
  m.use(
    file.autoreduce_archive_roots ? "autoreduce_archive_roots" : "(agent rule)",
    "archive.roots",
    file.autoreduce_archive_roots
      ? `${roots.join(", ")} (ours; the agent ignores this key)`
      : `${SNS_ARCHIVE_ROOTS.join(", ")}: the agent reads any file a job names; this worker only files under these`,
  );
  mapScripts(file, m);
  const outputDir = file.dev_output_dir?.trim();
  if (outputDir) {
    m.config.output.root = outputDir;
    m.config.output.dir = ".";
    m.use("dev_output_dir", "output.root, output.dir", `${outputDir} for every run, as in the agent`);
    return;
  }
  m.config.output.root = "/";
  m.config.output.dir = SNS_OUTPUT_DIR;
  const note = `/${SNS_OUTPUT_DIR}, the agent's layout`;
  m.use(outputDir === undefined ? "(agent rule)" : "dev_output_dir", "output.root, output.dir", note);
}

function mapScripts(file: SnsFile, m: Mapping): void {
  const shared = file.dev_instrument_shared?.trim();
  if (shared) {
    m.config.scripts.root = shared;
    m.config.scripts.folder = ".";
    m.config.scripts.file = "reduce_{instrument}.py";
    m.use(
      "dev_instrument_shared",
      "scripts.root, scripts.folder, scripts.file",
      `${shared}/reduce_<INST>.py for every instrument, as in the agent`,
    );
    return;
  }
  // The folder, not only the file, is the agent's: REDUCTION.CREATE_SCRIPT writes the script (and
  // reads its template) there.
  m.config.scripts.root = "/SNS";
  m.config.scripts.folder = "{instrument}/shared/autoreduce";
  m.config.scripts.file = "reduce_{instrument}.py";
  m.use(
    shared === undefined ? "(agent rule)" : "dev_instrument_shared",
    "scripts.root, scripts.folder, scripts.file",
    "/SNS/<INST>/shared/autoreduce/reduce_<INST>.py; for an HFIR instrument set " +
      "instruments.<INST>.script to /HFIR/<INST>/shared/autoreduce/reduce_<INST>.py",
  );
}

function readBroker(file: SnsFile, m: Mapping): SnsBroker | null {
  const keys = ["amq_user", "amq_pwd", "brokers", "failover_uri"] as const;
  if (keys.every((key) => file[key] === undefined)) return null;
  const fromUri = [...(file.failover_uri ?? "").matchAll(/[a-z][a-z0-9+]*:\/\/([^:/,()?\s]+):(\d+)/g)].map(
    ([, host, port]) => [host, Number(port)] as [string, number],
  );
  for (const key of keys) {
    if (file[key] === undefined) continue;
    if (key === "failover_uri" && file.brokers !== undefined) {
      m.ignore(key, "read but unused by the agent; the brokers come from `brokers`");
    } else {
      m.use(key, "transport.stomp", "the worker talks STOMP to these brokers");
    }
  }
  const broker = {
    brokers: file.brokers ?? fromUri,
    user: file.amq_user ?? null,
    failover_uri: file.failover_uri ?? null,
  };
  return Object.defineProperty(broker, "password", {
    value: file.amq_pwd ?? null,
    enumerable: false,
  }) as SnsBroker;
}

/**
 * `raw` (the parsed autoreduce.yaml) with `conf.config` merged over it: sections merge key by key,
 * so the SNS file wins where it says something and the yaml keeps the rest. Does not modify `raw`.
 */
export function mergePostProcessingConf(
  raw: Record<string, unknown>,
  conf: Pick<PostProcessingConf, "config">,
): Record<string, unknown> {
  return deepMerge(raw, conf.config as unknown as Record<string, unknown>);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(value) && isPlainObject(current) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The start-up report: one line per used and ignored key. Never shows a secret's value. */
export function formatPostProcessingConf(conf: PostProcessingConf): string[] {
  const head = `SNS agent config ${conf.source}: ${conf.used.length} settings used, ${conf.ignored.length} ignored`;
  return [
    head,
    ...conf.used.map((u) => `  used     ${u.key} → ${u.target}${u.note ? `: ${u.note}` : ""}`),
    ...conf.ignored.map((i) => `  ignored  ${i.key}: ${i.reason}`),
  ];
}

function keyPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("");
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error, which may be a password.
    throw new ConfigError(source, jsonProblems(text));
  }
}

/** Where the JSON breaks (line, column, key), and every line with typographic quotes. */
function jsonProblems(text: string): string[] {
  const fault = findJsonFault(text);
  const before = text.slice(0, fault.offset).split("\n");
  const where = `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
  const problems = [`not valid JSON at ${where}${fault.key ? ` (in ${fault.key})` : ""}: ${fault.problem}`];
  const curly = text.split("\n").flatMap((line, i) => (/[“”„]/.test(line) ? [i + 1] : []));
  if (curly.length > 0)
    problems.push(`typographic quotes (“ ”), which JSON does not accept, on lines ${curly.join(", ")}`);
  return problems;
}

/** The first place where a text stops being JSON. */
class JsonFault {
  constructor(
    readonly offset: number,
    readonly problem: string,
    readonly key: string,
  ) {}
}

/** A small JSON reader that only finds the first error, since JSON.parse does not say where. */
function findJsonFault(text: string): JsonFault {
  const scanner = new JsonScanner(text);
  try {
    scanner.value();
    scanner.space();
    return scanner.atEnd() ? scanner.fault("not valid JSON") : scanner.unexpected("the end of the file");
  } catch (e) {
    if (e instanceof JsonFault) return e;
    throw e;
  }
}

/** Reads one JSON value from `i`, throwing a JsonFault at the first error. */
class JsonScanner {
  private i = 0;
  /** Keys and `[index]`es leading to where the scanner is. */
  private readonly path: string[] = [];
  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.i >= this.text.length;
  }
  fault(problem: string): JsonFault {
    return new JsonFault(this.i, problem, this.path.join(".").replaceAll(".[", "["));
  }
  unexpected(wanted: string): JsonFault {
    const c = this.text[this.i];
    if (c === undefined) return this.fault(`the file ends where ${wanted} was expected`);
    const what = /[“”„]/.test(c)
      ? `unexpected '${c}' (a typographic quote; JSON needs ")`
      : SECRET_KEYS.has(this.path.at(-1) ?? "")
        ? "an unexpected character"
        : `unexpected '${c}'`;
    return this.fault(`${what} where ${wanted} was expected`);
  }
  space(): void {
    while (/[ \t\n\r]/.test(this.text[this.i] ?? "x")) this.i++;
  }
  value(): void {
    this.space();
    const c = this.text[this.i];
    if (c === "{" || c === "[") this.members(c === "{" ? "}" : "]");
    else if (c === '"') this.string();
    else this.literal();
  }
  private string(): string {
    const start = ++this.i;
    for (let c = this.text[this.i]; c !== '"'; c = this.text[this.i]) {
      if (c === undefined) throw this.fault("a quoted text is not closed");
      if (c < " ") throw this.fault("a line break inside quotes (JSON text must be on one line)");
      this.i += c === "\\" ? 2 : 1;
    }
    return this.text.slice(start, this.i++);
  }
  private literal(): void {
    const pattern = /-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null/y;
    pattern.lastIndex = this.i;
    if (!pattern.test(this.text)) throw this.unexpected("a value");
    this.i = pattern.lastIndex;
  }
  /** An object's members or an array's elements, from the opening bracket to `close`. */
  private members(close: "}" | "]"): void {
    this.i++;
    this.space();
    if (this.text[this.i] === close) return void this.i++;
    for (let n = 0; ; n++) {
      this.space();
      if (close === "]") this.path.push(`[${n}]`);
      else if (this.text[this.i] === '"') this.path.push(this.string());
      else throw this.unexpected("a quoted key");
      this.space();
      if (close === "}" && this.text[this.i] !== ":") throw this.unexpected("':'");
      if (close === "}") this.i++;
      this.value();
      this.space();
      if (this.text[this.i] !== "," && this.text[this.i] !== close)
        throw this.unexpected(`',' or '${close}'`);
      this.path.pop();
      if (this.text[this.i++] === close) return;
    }
  }
}
