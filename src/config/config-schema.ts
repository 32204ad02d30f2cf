import { z } from "zod";
import { DEFAULT_DESTINATIONS } from "../messages/destinations.ts";
import { EXECUTOR_KINDS, isExecutorKind } from "./executor-kinds.ts";
import { parseByteSize, parseMemoryLimit } from "./memory-size.ts";

/**
 * The schema of `autoreduce.yaml`. Every field has a doc comment and a default; the defaults give
 * the embedded deployment (SQLite + the embedded transport in the same database file).
 * Relative paths are resolved against `data_dir`, which itself is relative to the config file.
 */

/** `"70%"` of this machine's memory, or an amount: `"11GiB"`, `"512 MB"`. */
const MemoryLimit = z.string().refine(
  (text) => {
    try {
      parseMemoryLimit(text, 1 << 30);
      return true;
    } catch {
      return false;
    }
  },
  { error: (issue) => `not a memory limit: ${String(issue.input)} (use "70%", "11GiB" or "512MB")` },
);

/** A size: `"64MiB"`, `"512 kB"`, `"1048576"` (bytes). */
const ByteSize = z.string().refine(
  (text) => {
    try {
      parseByteSize(text);
      return true;
    } catch {
      return false;
    }
  },
  { error: (issue) => `not a size: ${String(issue.input)} (use "64MiB" or "512kB")` },
);

/** A regular expression (JavaScript syntax), checked to compile when the config is read. */
const Pattern = z
  .string()
  .min(1)
  .refine(
    (text) => {
      try {
        new RegExp(text);
        return true;
      } catch {
        return false;
      }
    },
    { error: (issue) => `not a valid regular expression: ${String(issue.input)}` },
  );

/**
 * Who takes a route's jobs off its queue: `autoreduce` (our workers) or `sns-agent` (SNS's
 * post-processing agents). An agent passes the whole job as one command-line argument, so its
 * jobs carry no script text or variables (it runs its own script file).
 */
const WorkersKind = z.enum(["autoreduce", "sns-agent"]);

const InstrumentSchema = z.strictObject({
  /**
   * How the script is called. `sns`: `<interpreter> reduce_<INST>.py <data_file> <output_dir>/`.
   * `isis`: `reduce.py` defining `main(input_file, output_dir)`, with `reduce_vars.py` beside it.
   * Default `sns`.
   */
  convention: z.enum(["sns", "isis"]).default("sns"),
  /**
   * Give every reduction version its own folder, `<output dir>/run-version-<N>` (ISIS), so a
   * re-run never overwrites an earlier version's files. Default: true for `isis` (ISIS's layout,
   * its `flat_output` off), false for `sns` (one shared folder).
   */
  versioned_output: z.boolean().optional(),
  /** Facility name sent in messages. Default: the top-level `facility`. */
  facility: z.string().min(1).optional(),
  /**
   * Regular expression a valid experiment of this instrument matches (unanchored unless you
   * anchor it). A run whose experiment does not match, such as ISIS's calibration placeholder
   * `INVALID RB NUMBER CALIBRATION RUN PERHAPS`, is recorded as `skipped` with the reason and never
   * reduced. Default: `^\d{7}$` for `isis` (ISIS's RB rule), `^IPTS-\d+$` otherwise.
   */
  experiment_pattern: Pattern.optional(),
  /**
   * Where this instrument's raw files are, relative to an archive root. Placeholders:
   * `{instrument}`, `{experiment}` (a whole path segment such as `IPTS-1234`), `{run}` (digits),
   * `{prefix}` (the instrument's file prefix), `{*}` (anything within one path segment).
   * `{run}` takes all the digits at its place. A list gives several layouts (OSIRIS writes both
   * `OSIRIS00108538.nxs` and `OSI98933.nxs`); a file matching any of them is the instrument's.
   * Default: the SNS layout `{instrument}/{experiment}/nexus/{instrument}_{run}.nxs.h5`.
   */
  pattern: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** File-name prefix used in `{prefix}` (ISIS: MARI files start with `MAR`). Default: the instrument name. */
  prefix: z.string().min(1).optional(),
  /** Interpreter for this instrument's script. Default: `scripts.interpreter`. */
  interpreter: z.string().min(1).optional(),
  /** Script file name in the instrument's script folder (`scripts.folder`). Default: `scripts.file` (`reduce.py` for `isis`). */
  script: z.string().min(1).optional(),
  /** Output folder template. Default: `output.dir`, else the convention's (see `output.dir`). */
  output_dir: z.string().min(1).optional(),
  /** How a finished script is judged (see `worker.success`). Default: `worker.success`. */
  success: z.enum(["exit_code", "stderr"]).optional(),
  /** Extra allow-list patterns for this instrument's stderr (added to `worker.exceptions`). */
  exceptions: z.array(Pattern).optional(),
  /** Memory limit of this instrument's reductions (see `worker.memory_limit`). Default: the worker's. */
  memory_limit: MemoryLimit.optional(),
  /** Wall-time limit in minutes (null: none). Default: `worker.time_limit_minutes`. */
  time_limit_minutes: z.number().positive().nullable().optional(),
  /** Log size kept per stream of this instrument's reductions (null: no limit). Default: `worker.log_limit`. */
  log_limit: ByteSize.nullable().optional(),
  /** Kill a reduction that writes nothing for this many minutes (null: never). Default: `worker.stall_minutes`. */
  stall_minutes: z.number().positive().nullable().optional(),
  /** Run one reduction at a time per experiment. Default: `worker.one_per_experiment` (true for `isis`). */
  one_per_experiment: z.boolean().optional(),
  /** Who serves this instrument's jobs (a routing rule's `workers` wins). Default `autoreduce`. */
  workers: WorkersKind.optional(),
  /**
   * Who decides whether the instrument has a reduction script. `coordinator`: a run without a
   * script the coordinator can read is recorded `disabled` and not sent. `worker`: the job is
   * sent anyway (without script text when the coordinator cannot read it) and the worker's
   * REDUCTION.DISABLED decides. Default: `worker` when the run's route is served by `sns-agent`,
   * else `coordinator`.
   */
  script_check: z.enum(["coordinator", "worker"]).optional(),
});
export type InstrumentConfig = z.infer<typeof InstrumentSchema>;

const DatabaseSchema = z
  .strictObject({
    /**
     * `sqlite:<path>` (relative to data_dir) or `postgres://user@host:port/db`.
     * Default `sqlite:autoreduce.db`. Environment override: `AUTOREDUCE_DATABASE_URL`.
     */
    url: z.string().min(1).default("sqlite:autoreduce.db"),
    /** Connections in the pool (PostgreSQL). Default 10. */
    pool_size: z.number().int().positive().default(10),
  })
  .prefault({});

const EmbeddedTransportSchema = z
  .strictObject({
    /** How long a consumer holds a message before another may take it, unless renewed. Default 30 s. */
    lease_seconds: z.number().positive().default(30),
    /** Deliveries after which a message goes to `DLQ.<queue>`. Default 5. */
    max_deliveries: z.number().int().positive().default(5),
    /** Safety-net polling period; changes are normally noticed at once. Default 250 ms. */
    poll_interval_ms: z.number().int().positive().default(250),
  })
  .prefault({});

const StompTransportSchema = z
  .strictObject({
    /**
     * The brokers, tried in turn on every (re)connect: a list of `host:port` / `stomp://host:port`,
     * or SNS's `failover:(tcp://a:61613,tcp://b:61613)?...` form. Default `127.0.0.1:61613`.
     */
    brokers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default(["127.0.0.1:61613"]),
    /** `auto` reads the broker's `server` header; set it when a proxy hides it. */
    flavour: z.enum(["auto", "activemq", "rabbitmq"]).default("auto"),
    /** STOMP login. Default none (ActiveMQ without an authentication plugin accepts any). */
    user: z.string().nullable().default(null),
    /**
     * Where the password comes from: `password` here (discouraged), else the file named by
     * `password_file`, else the environment variable named by `password_env`. Never logged.
     */
    password: z.string().nullable().default(null),
    password_file: z.string().nullable().default(null),
    password_env: z.string().default("AUTOREDUCE_BROKER_PASSWORD"),
    /** STOMP heart-beating, both ways. A silent broker is noticed after about twice this. Default 10 s. */
    heartbeat_seconds: z.number().positive().default(10),
    /** First reconnect delay, doubling up to `reconnect_max_seconds`. Defaults 0.5 s and 30 s. */
    reconnect_initial_seconds: z.number().positive().default(0.5),
    reconnect_max_seconds: z.number().positive().default(30),
    /** How long a send waits for the broker (connection and receipt) before it fails. Default 60 s. */
    send_timeout_seconds: z.number().positive().default(60),
    /** Deliveries after which a message goes to `DLQ.<queue>`. Default 5. */
    max_deliveries: z.number().int().positive().default(5),
  })
  .prefault({});

const TransportSchema = z
  .strictObject({
    /**
     * `embedded`: durable queues in the state database (one machine). `stomp`: ActiveMQ or
     * RabbitMQ (with its STOMP plugin) for deployments over several machines. Default `embedded`.
     */
    kind: z.enum(["embedded", "stomp"]).default("embedded"),
    embedded: EmbeddedTransportSchema,
    stomp: StompTransportSchema,
  })
  .prefault({});

const QueuesSchema = z
  .strictObject({
    data_ready: z.string().default(DEFAULT_DESTINATIONS.dataReady),
    postprocess_error: z.string().default(DEFAULT_DESTINATIONS.postprocessError),
    reduction_data_ready: z.string().default(DEFAULT_DESTINATIONS.reductionDataReady),
    reduction_started: z.string().default(DEFAULT_DESTINATIONS.reductionStarted),
    reduction_complete: z.string().default(DEFAULT_DESTINATIONS.reductionComplete),
    reduction_error: z.string().default(DEFAULT_DESTINATIONS.reductionError),
    reduction_disabled: z.string().default(DEFAULT_DESTINATIONS.reductionDisabled),
    heartbeat: z.string().default(DEFAULT_DESTINATIONS.heartbeat),
    /** Pings: a message with `reply_to` is answered with a heartbeat there (SNS). */
    heartbeat_ping: z.string().default("/topic/SNS.COMMON.STATUS.PING"),
    /** Worker → coordinator: a job could not start and will be tried again later (ours). */
    reduction_retrying: z.string().default("/queue/REDUCTION.RETRYING"),
    /** Re-run requests (CLI, API, web → coordinator). */
    reduction_request: z.string().default("/queue/REDUCTION.REQUEST"),
    /** Script-template requests (SNS WebMon's setup page → worker). */
    create_script: z.string().default("/queue/REDUCTION.CREATE_SCRIPT"),
    /** Where the result of a script-template request is published; `{instrument}` is replaced. */
    service_status: z.string().default("/topic/SNS.{instrument}.STATUS.POSTPROCESS"),
    /** Cancellations of running or queued jobs (coordinator/CLI → every worker). */
    cancel: z.string().default("/topic/AUTOREDUCE.CANCEL"),
    /** The change feed: every job status change and daemon state change (coordinator → web, any reader). */
    changes: z
      .string()
      .regex(/^\/topic\/\S+$/, "a topic, /topic/NAME (every subscriber gets every event)")
      .default("/topic/AUTOREDUCE.CHANGES"),
  })
  .prefault({});

const ArchiveSchema = z
  .strictObject({
    /** Folders that hold raw data. A DATA_READY naming a file elsewhere is refused. Default `[archive]`. */
    roots: z.array(z.string().min(1)).min(1).default(["archive"]),
    /** Use polling instead of file-system events (needed on NFS and other network file systems). Default false. */
    poll: z.boolean().default(false),
    /** Polling period when `poll` is on. Default 1000 ms. */
    poll_interval_ms: z.number().int().positive().default(1000),
    /** A file counts as complete once its size and mtime have not changed for this long. Default 5 s. */
    settle_seconds: z.number().nonnegative().default(5),
    /**
     * If set, a file counts as complete only when `<file><marker>` exists (e.g. `.done`), whatever
     * its age. Default: none (use `settle_seconds`).
     */
    completion_marker: z.string().min(1).nullable().default(null),
    /** Period of the full scan that finds files the watcher missed. Default 300 s. */
    reconcile_seconds: z.number().positive().default(300),
    /**
     * Files older than this when first seen are recorded but not reduced, so pointing the listener
     * at a years-old archive does not start thousands of reductions. Use `autoreduce submit` for
     * those. Default 24 h.
     */
    backfill_hours: z.number().nonnegative().default(24),
  })
  .prefault({});

const ScriptsSchema = z
  .strictObject({
    /** Folder with one sub-folder per instrument holding its reduction script. Default `scripts`. */
    root: z.string().min(1).default("scripts"),
    /**
     * An instrument's script folder inside `root`; `{instrument}` is replaced. Default `{instrument}`.
     * SNS: `{instrument}/shared/autoreduce` under `/SNS`; `.` puts every instrument's script in
     * `root` itself (the SNS agent's `dev_instrument_shared`).
     */
    folder: z.string().min(1).default("{instrument}"),
    /** Interpreter the script is run with (any executable: python3, mantidpython, node). Default `python3`. */
    interpreter: z.string().min(1).default("python3"),
    /** Script file name; `{instrument}` is replaced. Default `reduce_{instrument}.py` (SNS). */
    file: z.string().min(1).default("reduce_{instrument}.py"),
    /** The variables file beside the script (its defaults are read without running it). Default `reduce_vars.py`. */
    vars_file: z.string().min(1).default("reduce_vars.py"),
    /** Python used to read `reduce_vars.py` and to run `isis` scripts' runner. Default `python3`. */
    python: z.string().min(1).default("python3"),
  })
  .prefault({});

const OutputSchema = z
  .strictObject({
    /** Root of reduced data. Default `output`. */
    root: z.string().min(1).default("output"),
    /**
     * Folder of one experiment's reduced data, relative to `root`; `{instrument}`, `{experiment}`,
     * `{facility}` and `{run}` are replaced. Default by convention: `sns`
     * `{instrument}/{experiment}/shared/autoreduce`; `isis` `{instrument}/RBNumber/RB{experiment}/autoreduced/{run}`
     * (ISIS's CEPH layout).
     */
    dir: z.string().min(1).optional(),
  })
  .prefault({});

const RetrySchema = z
  .strictObject({
    /**
     * Times a job is tried when it cannot start for reasons that are not the script's fault
     * (data file unreadable, output folder not writable, interpreter missing). Default 5.
     */
    attempts: z.number().int().positive().default(5),
    /** Delay before the first retry; it doubles each time. Default 30 s. */
    initial_seconds: z.number().positive().default(30),
    /** Longest delay between retries. Default 900 s (15 min). */
    max_seconds: z.number().positive().default(900),
  })
  .prefault({});

const WorkerSchema = z
  .strictObject({
    /** Reductions this worker runs at once. Default 4. */
    max_procs: z.number().int().positive().default(4),
    /**
     * Reductions of one instrument this worker runs at once; 0 for no limit. Jobs over the limit
     * wait in the worker in run order (never handed back to the broker). Default 2 (SNS).
     */
    jobs_per_instrument: z.number().int().nonnegative().default(2),
    /** Run one reduction at a time per experiment (ISIS's rule). Default false. */
    one_per_experiment: z.boolean().default(false),
    /**
     * Jobs the worker takes from its queues beyond its free slots, to wait for a limit to clear
     * (so one busy instrument does not block others). Default: `max_procs`.
     */
    hold: z.number().int().nonnegative().nullable().default(null),
    /** Queues this worker takes jobs from (a pool). Default: `queues.reduction_data_ready`. */
    queues: z.array(z.string().min(1)).default([]),
    /** Memory limit of a reduction's whole process tree; null for none. Default `"70%"` (SNS). */
    memory_limit: MemoryLimit.nullable().default("70%"),
    /** Period of the memory, time and stall checks. Default 1 s. */
    check_interval_seconds: z.number().positive().default(1),
    /** Wall-time limit of a reduction in minutes; null for none. Default 60 (SNS). */
    time_limit_minutes: z.number().positive().nullable().default(60),
    /** Kill a reduction that writes no output (log) for this many minutes; null: never. Default null. */
    stall_minutes: z.number().positive().nullable().default(null),
    /**
     * How a finished script is judged. `exit_code`: 0 is success. `stderr` (SNS compatibility):
     * also an error when stderr is not empty, unless its error line matches `exceptions`.
     * Default `exit_code`.
     */
    success: z.enum(["exit_code", "stderr"]).default("exit_code"),
    /** Regular expressions: stderr error lines matching one are information, not errors (`stderr` mode). */
    exceptions: z.array(Pattern).default([]),
    /**
     * Behave exactly as the SNS post-processing agent towards SNS's workflow manager and WebMon
     * (set by `--post-processing-conf`): a job whose data file is missing or unreadable, or that
     * lacks a field, goes to `POSTPROCESS.ERROR` at once with the agent's text (no retries);
     * `success: stderr` is the agent's rule (stderr decides, the exit code only when stderr is
     * empty); a limit's kill reads as the agent writes it (`Total memory usage exceeded limit
     * (…)`, `Time limit exceeded (…)`); STARTED precedes DISABLED, which carries no `error`;
     * the `.err` file is removed after a success. Default false. (docs/interop.md)
     */
    sns_compatible: z.boolean().default(false),
    /** Retries of jobs that could not start for infrastructure reasons. */
    retry: RetrySchema,
    /**
     * Where reductions run: an executor's name from `config/executor-kinds.ts`. Only
     * `local` (a process tree on this machine) exists now. Default `local`.
     */
    executor: z
      .string()
      .default("local")
      .refine(isExecutorKind, {
        error: (issue) => `unknown executor: ${String(issue.input)} (known: ${EXECUTOR_KINDS.join(", ")})`,
      }),
    /**
     * More executors this worker runs a job with when its route names one (the job's `executor`);
     * `worker.executor` is always one. A job naming another is refused. Default none.
     */
    executors: z
      .array(
        z.string().refine(isExecutorKind, {
          error: (issue) => `unknown executor: ${String(issue.input)} (known: ${EXECUTOR_KINDS.join(", ")})`,
        }),
      )
      .default([]),
    /**
     * Bytes kept of each log stream (stdout → `.log`, stderr → `.err`) of a reduction: its first
     * and last halves, with a line between them saying how many bytes were cut; null for no
     * limit. Per instrument: `instruments.<I>.log_limit`. Default `"64MiB"`.
     */
    log_limit: ByteSize.nullable().default("64MiB"),
    /** Lines of stderr/stdout kept in status messages. Default 20. */
    log_tail_lines: z.number().int().positive().default(20),
    /** Seconds a stopping worker waits for running reductions before handing them back. Default 30. */
    stop_grace_seconds: z.number().nonnegative().default(30),
    /**
     * Variables of the worker's environment that scripts also see, besides the base set (PATH,
     * HOME, LANG, LC_*, TZ, USER, LOGNAME); a name ending in `*` is a prefix (`CONDA_*`). Nothing
     * else of the worker's environment (which holds broker and database credentials) reaches a
     * script. Default none.
     */
    env_passthrough: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, "a variable name, or a prefix ending in *"))
      .default([]),
    /** Fixed variables set for every script (they win over passed-through ones). Default none. */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a variable name"), z.string()).default({}),
  })
  .prefault({});

const HeartbeatSchema = z
  .strictObject({
    /** Seconds between heartbeats of each daemon. Default 5. */
    interval_seconds: z.number().positive().default(5),
    /** A daemon whose last heartbeat is older than this is shown as stale. Default 15 s (SNS). */
    stale_seconds: z.number().positive().default(15),
    /** ... and as dead after this long. Default 120 s. */
    dead_seconds: z.number().positive().default(120),
    /**
     * A daemon that says how often it beats is stale only after three missed beats (never sooner
     * than `stale_seconds`); one that does not say (an SNS post-processing agent) is assumed to beat
     * this often. Default 30 s (the SNS agent's).
     */
    foreign_interval_seconds: z.number().positive().default(30),
  })
  .prefault({});

/** The coordinator's sweeper: what it does with jobs that nobody holds any more. */
const SweeperSchema = z
  .strictObject({
    /** Seconds between sweeps of unfinished reductions; 0 turns the sweeper off. Default 60. */
    interval_seconds: z.number().nonnegative().default(60),
    /**
     * A queued or running job that no live worker lists, while its queue is empty, is resolved
     * once it has been so for this long (and nothing about it changed for this long). A job whose
     * worker is dead or stopped is resolved at once. Default 300 s.
     */
    grace_seconds: z.number().positive().default(300),
    /** Attempts after which such a job is marked `error` instead of re-queued. Default 3. */
    max_attempts: z.number().int().positive().default(3),
    /**
     * A job taken off its queue (the queue is empty and no live worker lists it) that has had no
     * STARTED this long after it was sent is flagged on its run's timeline and re-sent as the
     * next attempt (`error` after `max_attempts`). An SNS agent sends STARTED within seconds of
     * taking a job, so silence means the job was lost. Default 300 s.
     */
    start_timeout_seconds: z.number().positive().default(300),
    /**
     * A job `running` this long with no final report, that no live worker lists (an SNS agent's
     * heartbeat lists no jobs), is flagged once per attempt on its run's timeline (its status is
     * left alone: the agent may still report). null: never. Default 90 (an SNS agent kills a
     * reduction after 60 min by default).
     */
    running_flag_minutes: z.number().positive().nullable().default(90),
  })
  .prefault({});

/** How `serve` restarts a part that fails (see docs/operations.md, "Supervision"). */
const SupervisionSchema = z
  .strictObject({
    /** A part that fails this many times within `window_seconds` is given up, and `serve` exits 1. Default 5. */
    max_failures: z.number().int().positive().default(5),
    /** The window in which failures are counted. Default 600 s. */
    window_seconds: z.number().positive().default(600),
    /** Seconds before the first restart; doubles with each failure in the window. Default 1. */
    backoff_initial_seconds: z.number().nonnegative().default(1),
    /** Longest wait before a restart. Default 60 s. */
    backoff_max_seconds: z.number().nonnegative().default(60),
  })
  .prefault({});

/**
 * A routing rule: jobs of runs that match go to `queue` instead of `queues.reduction_data_ready`
 * (e.g. a high-memory pool). Every condition given must match; the first matching rule wins.
 */
const RouteSchema = z.strictObject({
  /** A name shown where the route is recorded. */
  name: z.string().min(1),
  /** Instrument name; default: any. */
  instrument: z
    .string()
    .regex(/^[A-Z0-9_]+$/)
    .optional(),
  /** Regular expression matched against the run title. */
  title: Pattern.optional(),
  /** Regular expression matched against the sample name. */
  sample: Pattern.optional(),
  /** The raw data file is at least this many bytes. */
  min_file_bytes: z.number().int().nonnegative().optional(),
  /** The queue the job goes to, e.g. `/queue/REDUCTION.HIMEM.DATA_READY`. */
  queue: z.string().min(1),
  /**
   * The executor the job runs with (`config/executor-kinds.ts`), named in the job message; a
   * worker runs it only if it is one of its own (`worker.executor`, `worker.executors`). Default:
   * the worker's `worker.executor`.
   */
  executor: z
    .string()
    .refine(isExecutorKind, {
      error: (issue) => `unknown executor: ${String(issue.input)} (known: ${EXECUTOR_KINDS.join(", ")})`,
    })
    .optional(),
  /** Who serves the queue: `autoreduce` or `sns-agent`. Default: the instrument's `workers`. */
  workers: WorkersKind.optional(),
});
export type RouteRule = z.infer<typeof RouteSchema>;

const RerunCapsSchema = z
  .strictObject({
    /** Runs one re-run request may cover, for an experimenter. Default 20 (ISIS). */
    user: z.number().int().positive().default(20),
    /** ... for instrument staff. Default 50. */
    staff: z.number().int().positive().default(50),
    /** ... for administrators and the command line on the server. Default 500. */
    admin: z.number().int().positive().default(500),
  })
  .prefault({});

const ApiSchema = z
  .strictObject({
    /** Serve the JSON API from `autoreduce serve`. Default true. */
    enabled: z.boolean().default(true),
    /** Interface to listen on. Default 127.0.0.1 (this machine only). */
    host: z.string().min(1).default("127.0.0.1"),
    /** Port; 0 picks a free one (printed at start). Default 8080. */
    port: z.number().int().min(0).max(65535).default(8080),
  })
  .prefault({});

const InstrumentName = z.string().regex(/^[A-Za-z0-9_]+$/, "instrument names are letters, digits, _");

/** Sign-in through an LDAP directory (web/auth/ldap-login.ts); null: off. */
const LdapSchema = z.strictObject({
  /** `ldap://host:389` or `ldaps://host:636`. */
  url: z.string().regex(/^ldaps?:\/\//, "an ldap:// or ldaps:// URL"),
  /**
   * The DN to bind as, with `{username}`: `uid={username},ou=people,dc=facility,dc=org`. The name
   * is put in lower case and escaped (RFC 4514); names other than letters, digits and `_.@-` are refused.
   */
  user_dn: z.string().includes("{username}", { message: "must contain {username}" }),
  /** Groups (DNs) whose members are administrators; membership read from the group's `member`/`uniqueMember`. */
  admin_groups: z.array(z.string().min(1)).default([]),
  /** Instrument → group DNs whose members are its scientists. */
  scientist_groups: z.record(InstrumentName, z.array(z.string().min(1))).default({}),
  /** Seconds to wait for the directory. Default 5. */
  timeout_seconds: z.number().positive().default(5),
});

/** Sign-in through an OpenID Connect provider (web/auth/oidc-login.ts); null: off. */
const OidcSchema = z.strictObject({
  /** The issuer URL; its `/.well-known/openid-configuration` is read at the first sign-in (again after a failure). */
  issuer: z.string().url(),
  client_id: z.string().min(1),
  /** File holding the client secret (relative to `data_dir`); never in the config itself. */
  client_secret_file: z.string().min(1),
  /** The button's text: "Sign in with <label>". Default the issuer's host. */
  label: z.string().min(1).optional(),
  /** Claim holding the user name. Default `preferred_username` (then `sub`). */
  username_claim: z.string().min(1).default("preferred_username"),
  /**
   * Scopes asked for. Default `openid profile email`; add the one your provider needs to put the
   * groups claim in the ID token (often `groups`). Must include `openid`.
   */
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "a scope is one word"))
    .default(["openid", "profile", "email"])
    .refine((s) => s.includes("openid"), "must include openid"),
  /** Claim holding group names (a list); used for the two mappings below. Default `groups`. */
  groups_claim: z.string().min(1).default("groups"),
  /** Group names whose members are administrators. */
  admin_groups: z.array(z.string().min(1)).default([]),
  /** Instrument → group names whose members are its scientists. */
  scientist_groups: z.record(InstrumentName, z.array(z.string().min(1))).default({}),
  /** Allow an http:// issuer (tests, a provider on loopback). Default false. */
  allow_insecure_http: z.boolean().default(false),
  /** Seconds to wait for each answer of the provider (discovery, code exchange). Default 10. */
  timeout_seconds: z.number().positive().default(10),
});

const WebSchema = z
  .strictObject({
    /** Instruments anyone may read without signing in (runs, plots, logs; never changes). Default none. */
    anonymous_read: z.array(InstrumentName).default([]),
    /** The address people open (`https://autoreduce.facility.org`); used for OIDC redirects and links. Default: the listen address. */
    public_url: z.string().url().nullable().default(null),
    /**
     * Addresses (or CIDR ranges) of the reverse proxies in front of the web application: only a
     * request from one of these may say, in `X-Forwarded-For`/`-Proto`/`-Host`, who the client
     * is (the sign-in limits count per client address). Default none: the connection's own
     * address is the client's, whatever the headers claim.
     */
    trusted_proxies: z.array(z.string().min(1)).default([]),
    /** Send session cookies only over HTTPS. Default: true when `public_url` is https. */
    secure_cookies: z.boolean().optional(),
    /** A session ends this long after sign-in. Default 12 hours. */
    session_hours: z.number().positive().default(12),
    /** ... or after this long without a request. Default 120 minutes. */
    idle_minutes: z.number().positive().default(120),
    /** Local accounts (argon2id passwords kept in the database). Default true. */
    local_login: z.boolean().default(true),
    ldap: LdapSchema.nullable().default(null),
    oidc: OidcSchema.nullable().default(null),
    /** Failed sign-ins allowed per client address and user name in `login_window_minutes`. Default 10. */
    login_attempts: z.number().int().positive().default(10),
    login_window_minutes: z.number().positive().default(5),
  })
  .prefault({});

const SecuritySchema = z
  .strictObject({
    /**
     * File holding the key (at least 32 bytes of text) the coordinator signs jobs with and workers
     * check them with; a worker runs stored script text and variables only from a signed job.
     * Relative to `data_dir`. Created (mode 0600) when missing; refused when everyone may read
     * it. Every coordinator and worker of a deployment needs the same file. Default `job.key`.
     */
    job_key_file: z.string().min(1).default("job.key"),
  })
  .prefault({});

export const ConfigSchema = z.strictObject({
  /** Base folder for relative paths (database, archive, scripts, output). Default: the config file's folder. */
  data_dir: z.string().min(1).default("."),
  /** Facility name sent in messages. Default `SNS`. */
  facility: z.string().min(1).default("SNS"),
  database: DatabaseSchema,
  transport: TransportSchema,
  /** Destination names; defaults are SNS's. */
  queues: QueuesSchema,
  archive: ArchiveSchema,
  /** Instruments this deployment serves, by name (upper case). Default: none. */
  instruments: z
    .record(
      z.string().regex(/^[A-Z0-9_]+$/, "instrument names are upper case letters, digits, _"),
      InstrumentSchema.prefault({}),
    )
    .default({}),
  scripts: ScriptsSchema,
  output: OutputSchema,
  worker: WorkerSchema,
  api: ApiSchema,
  /** The web application: who may sign in how, what anyone may read. */
  web: WebSchema,
  /** Daemon heartbeats and how `autoreduce status` judges them. */
  heartbeat: HeartbeatSchema,
  /** Resolves reductions left `running` or `queued` by a worker that is gone. */
  sweeper: SweeperSchema,
  /** How `serve` restarts its parts when they fail. */
  supervision: SupervisionSchema,
  /** Routing rules (checked after the ones kept in the database). Default: none. */
  routing: z.array(RouteSchema).default([]),
  /** How jobs are authenticated between coordinator and workers. */
  security: SecuritySchema,
  /** Largest batch re-run one request may ask for, by role. */
  rerun_caps: RerunCapsSchema,
  /** Log level: trace, debug, info, warn, error. Default info. */
  log_level: z.enum(["trace", "debug", "info", "warn", "error"]).default("info"),
  /**
   * Append the JSON log lines to this file (relative to `data_dir`) instead of stderr; errors are
   * still shown on stderr, as short lines. Default null: stderr (`serve --demo` sets `autoreduce.log`).
   */
  log_file: z.string().min(1).nullable().default(null),
});

/** Who takes a route's jobs: our workers or SNS post-processing agents. */
export type WorkersKindName = z.infer<typeof WorkersKind>;

/** The config as written in the file (every field optional). */
export type ConfigInput = z.input<typeof ConfigSchema>;
/** The config with defaults applied but paths not yet resolved. */
export type ParsedConfig = z.output<typeof ConfigSchema>;
