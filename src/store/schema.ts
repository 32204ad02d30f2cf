import type { Generated } from "kysely";

/**
 * Tables of the state database. Times are epoch milliseconds; JSON is stored as text so that the
 * same statements run on SQLite and PostgreSQL; booleans are 0/1 integers for the same reason.
 */
export interface StateSchema {
  instruments: InstrumentsTable;
  experiments: ExperimentsTable;
  runs: RunsTable;
  jobs: JobsTable;
  job_events: JobEventsTable;
  archive_files: ArchiveFilesTable;
  variable_sets: VariableSetsTable;
  heartbeats: HeartbeatsTable;
  routing_rules: RoutingRulesTable;
  api_tokens: ApiTokensTable;
  users: UsersTable;
  user_instruments: UserInstrumentsTable;
  experiment_members: ExperimentMembersTable;
  sessions: SessionsTable;
  plots: PlotsTable;
  site_settings: SiteSettingsTable;
  queue_depth_samples: QueueDepthSamplesTable;
}

/** A person who signs in to the web application (migration 008). */
export interface UsersTable {
  id: Generated<number>;
  /** Unique; the name people sign in with and the catalog lists members by. */
  username: string;
  display_name: string | null;
  email: string | null;
  /** argon2id hash (`local` accounts only); null for LDAP and OIDC accounts. */
  password_hash: string | null;
  /** Where the account signs in: `local`, `ldap`, `oidc`. */
  provider: string;
  /** 1: administrator of everything. */
  admin: number;
  /** JSON object: notification preferences and the like. */
  preferences: string;
  created_at: number;
  last_login_at: number | null;
  /** Set: may no longer sign in (sessions and tokens stop working). */
  disabled_at: number | null;
}

/** A person's role on an instrument: `scientist` (sees and changes everything of it). */
export interface UserInstrumentsTable {
  user_id: number;
  /** Upper case. */
  instrument: string;
  role: string;
  granted_by: string | null;
  granted_at: number;
}

/** Who belongs to an experiment (from the catalog): by user name, so it can precede a first sign-in. */
export interface ExperimentMembersTable {
  experiment: string;
  username: string;
  /** `catalog` (imported or from an ICAT/ONCat adapter) or `local` (added by hand). */
  source: string;
  added_at: number;
}

/** A signed-in browser. The cookie holds a random id; only its SHA-256 is stored. */
export interface SessionsTable {
  id_hash: string;
  user_id: number;
  /** The CSRF token every form and htmx request of this session must carry. */
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  /** How the person signed in: `local`, `ldap`, `oidc`. */
  provider: string;
}

/** A plot published by a script (or its SNS `publish_plot`) for a run; the latest is shown. */
export interface PlotsTable {
  id: Generated<number>;
  instrument: string;
  run_number: number;
  /** The run's version it belongs to (the latest when uploaded); null: not known. */
  version: number | null;
  name: string;
  /** JSON `{data, layout}`: the figure as parsed and checked, never the uploaded HTML. */
  figure: string;
  /** What was uploaded: `plotly-json`, `plotly-div`, `series`. */
  source: string;
  uploaded_by: string | null;
  created_at: number;
}

/** Site-wide settings changed from the admin page (`banner`). */
export interface SiteSettingsTable {
  key: string;
  value: string;
  updated_by: string | null;
  updated_at: number;
}

/** Queue depths sampled by the web process, for the admin page's 24-hour chart. */
export interface QueueDepthSamplesTable {
  sampled_at: number;
  queue: string;
  depth: number;
}

/** Who may change things through the API: one row per token holder (see token-store.ts). */
export interface ApiTokensTable {
  id: Generated<number>;
  /** Unique; shown in lists and recorded as who did what (`started_by`, `created_by`). */
  name: string;
  /** Hex SHA-256 of the token; the token itself is shown once, at creation, and kept nowhere. */
  token_hash: string;
  /** `admin`, `scientist` (changes on `instruments` only) or `read` (no changes). */
  role: string;
  /** JSON array of instrument names (upper case); empty unless the role is `scientist`. */
  instruments: string;
  created_by: string | null;
  created_at: number;
  /** No longer accepted from this time on; null: never expires. */
  expires_at: number | null;
  revoked_at: number | null;
  /** Last accepted use (recorded at most once a minute). */
  last_used_at: number | null;
  /** A personal token (made on the account page): acts as this user, with the user's permissions. */
  user_id: number | null;
}

/** Where a variable set applies: the script's defaults, runs from a number on, or one experiment. */
export type VariableScope = "default" | "from_run" | "experiment";

/**
 * Values chosen for an instrument's script variables. Rows are never changed: editing makes a
 * new row, deleting sets `deleted_at`, so every reduction's `variable_set_id` stays meaningful.
 */
export interface VariableSetsTable {
  id: Generated<number>;
  instrument_id: number;
  scope: VariableScope;
  start_run: number | null;
  experiment: string | null;
  /** JSON `{standard_vars: {...}, advanced_vars: {...}}` (a person's set may hold only some names). */
  values: string;
  /** `script` (defaults read from reduce_vars.py) or `person`. */
  source: string;
  /** For script defaults: hash of the reduce_vars.py they were read from. */
  script_hash: string | null;
  created_by: string | null;
  created_at: number;
  deleted_at: number | null;
  deleted_by: string | null;
}

export interface InstrumentsTable {
  id: Generated<number>;
  name: string;
  facility: string;
  /** 1: new runs are recorded as skipped (set by people, not by files). */
  paused: Generated<number>;
  created_at: number;
}

export interface ExperimentsTable {
  id: Generated<number>;
  /** IPTS-1234 (SNS) or an RB number (ISIS). */
  reference: string;
  created_at: number;
  /** From the catalog (migration 008). */
  title: string | null;
  /** JSON object of catalog metadata (PI, dates, proposal…); null: none imported. */
  catalog: string | null;
}

export interface RunsTable {
  id: Generated<number>;
  instrument_id: number;
  experiment_id: number;
  run_number: number;
  data_file: string;
  title: string | null;
  start_time: string | null;
  end_time: string | null;
  /** JSON object: metadata read from the raw file. */
  metadata: string;
  created_at: number;
  updated_at: number;
  /**
   * The run's latest reduction version: its `jobs.id`, number and status (migration 009), kept
   * by the transaction that creates a version or changes its status (run-index.ts
   * `noteReductionJob`). Null only inside the transaction that records the run.
   */
  latest_job_id: number | null;
  latest_version: number | null;
  latest_status: JobStatus | null;
}

export type { JobStatus } from "../messages/job-status.ts";

import type { JobStatus } from "../messages/job-status.ts";

/** The status of a reduction version: a job's status (the name the reduction code reads with). */
export type ReductionStatus = JobStatus;

/**
 * What an execution is for:
 * - `reduction`: one version of a run's reduction (has `run_id` and `version`);
 * - `watch`: a step of a file-watch rule, e.g. a calibration after its config file changed;
 * - `trigger`: a command a beamline script asked for (DESY MENTO-style);
 * - `live`: a live-reduction session of an instrument.
 */
export type JobKind = "reduction" | "watch" | "trigger" | "live";

/** Every kind, in the order the CLI and API list them. */
export const JOB_KINDS: readonly JobKind[] = ["reduction", "watch", "trigger", "live"];

/**
 * One row per execution the system makes (migration 004; before it, `reductions`). A reduction
 * stays attached to its run (`run_id` + `version`, required for that kind by a CHECK); the other
 * kinds say what they belong to in `subject`.
 */
export interface JobsTable {
  id: Generated<number>;
  /** What the execution is for (`reduction` for every row made before migration 004). */
  kind: JobKind;
  /** Reductions: the run. Null for the other kinds. */
  run_id: number | null;
  /** Reductions: 0 for the first reduction of a run, N+1 for each repeat. Null for the other kinds. */
  version: number | null;
  /** What a non-reduction job belongs to: the watch rule's name, the live session's instrument, the trigger's name. Null for reductions (their run says it). */
  subject: string | null;
  /** Identifies the job in messages. */
  job_id: string;
  status: JobStatus;
  /** Why it was started: automatic (listener/DAQ), manual (submit), rerun; watch, trigger, live for the other kinds. */
  reason: string;
  started_by: string | null;
  /** Content key of the DATA_READY that created it (path, size, mtime), so a re-sent notice is recognised. */
  dedupe_key: string | null;
  /** Error or information text from the worker. */
  message: string | null;
  output_dir: string | null;
  /** JSON array of files the job wrote. */
  output_files: string;
  log_file: string | null;
  err_file: string | null;
  host: string | null;
  /** The executor's id for the execution: a pid, a Slurm job id. */
  external_id: string | null;
  /** Deliveries to a worker so far. */
  attempts: number;
  exit_code: number | null;
  /** Snapshot of what ran: the script file, its exact text (or the command text) and sha256, the variables (JSON), the interpreter. */
  script_path: string | null;
  script_text: string | null;
  script_hash: string | null;
  variables: string | null;
  /** JSON array of the command-line arguments (null: the kind's convention decides them). */
  arguments: string | null;
  variable_set_id: number | null;
  interpreter: string | null;
  /** `sns` or `isis`: how the script is called. */
  convention: string | null;
  /** Why a person asked for it (re-runs). */
  description: string | null;
  created_at: number;
  /** When the job message was handed to the transport (null: not yet; the coordinator re-sends). */
  dispatched_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  /** The queue the job was sent to, and the routing rule that chose it (null: the default queue). */
  queue: string | null;
  route: string | null;
  /** Where it ran: `local`, `ssh`, `slurm`. */
  executor: string | null;
  /** Highest resident memory of the script's process tree, in bytes. */
  peak_memory_bytes: number | null;
  /** While `retrying`: when the next attempt is due. */
  retry_at: number | null;
  /** A failure an operator acknowledged on the admin page: left out of its list of failures (migration 010). */
  hidden_at: number | null;
  hidden_by: string | null;
}

/** The last heartbeat of each daemon (worker, coordinator, listener), by daemon id. */
export interface HeartbeatsTable {
  /** `<src_name>:<role>:<pid>`. */
  daemon: string;
  src_name: string;
  role: string;
  pid: number;
  status: string;
  /** The whole heartbeat message (JSON): running jobs, slots, version, queues. */
  body: string;
  first_seen_at: number;
  last_seen_at: number;
}

/** Routing rules kept in the database (checked before the config's, lowest priority first). */
export interface RoutingRulesTable {
  id: Generated<number>;
  name: string;
  priority: number;
  instrument: string | null;
  title: string | null;
  sample: string | null;
  min_file_bytes: number | null;
  queue: string;
  /** The executor the rule's jobs run with; null: the worker's own (migration 006). */
  executor: string | null;
  /** Who serves the rule's queue, `autoreduce` or `sns-agent`; null: the instrument's setting (migration 007). */
  workers: string | null;
  created_by: string | null;
  created_at: number;
}

/**
 * Append-only: every message about a job (and so about its run), received or sent (migration
 * 004; before it, `run_events`). A run's timeline is `where run_id = ?`, a job's `where job_row_id = ?`.
 */
export interface JobEventsTable {
  id: Generated<number>;
  /** The run the event is about (reductions); null for the other kinds of job. */
  run_id: number | null;
  /** The job (`jobs.id`, any kind) the event is about; was `reduction_id`. */
  job_row_id: number | null;
  destination: string;
  /** Transport message id; unique so that a redelivered message is recorded (and acted on) once. */
  message_id: string | null;
  body: string;
  created_at: number;
}

/** Files the listener has seen, so that it announces each version of a file once. */
export interface ArchiveFilesTable {
  path: string;
  instrument: string;
  run_number: number;
  size: number;
  mtime_ms: number;
  /** announced: DATA_READY sent; ignored: older than the backfill window; rejected: could not be announced. */
  state: string;
  note: string | null;
  recorded_at: number;
}
