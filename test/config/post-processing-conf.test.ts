import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { inspect } from "node:util";
import { ConfigError } from "../../src/config/config-error.ts";
import { scriptFolder } from "../../src/config/instrument-settings.ts";
import { configFromObject } from "../../src/config/load-config.ts";
import {
  formatPostProcessingConf,
  mergePostProcessingConf,
  type PostProcessingConfig,
  readPostProcessingConf,
} from "../../src/config/post-processing-conf.ts";
import { ReductionJobSchema } from "../../src/messages/reduction-job.ts";
import { locateScript } from "../../src/scripts/script-location.ts";
import { dataFileRefusal, folderRefusal } from "../../src/worker/job-checks.ts";
import { SNS_PRODUCTION_EXCEPTIONS } from "../fixtures/sns/exceptions.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "sns");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
/** The placeholder syntax of the SNS file (Python's string.Template), not a template literal. */
const SNS_INSTRUMENT = "$" + "{instrument}";
const read = (file: Record<string, unknown>) => readPostProcessingConf(JSON.stringify(file), "/etc/x.conf");

const SNS_LAYOUT = {
  scripts: { root: "/SNS", folder: "{instrument}/shared/autoreduce", file: "reduce_{instrument}.py" },
  output: { root: "/", dir: "{facility}/{instrument}/{experiment}/shared/autoreduce" },
  archive: { roots: ["/SNS", "/HFIR"] },
};
const SNS_QUEUES = {
  postprocess_error: "/queue/POSTPROCESS.ERROR",
  reduction_started: "/queue/REDUCTION.STARTED",
  reduction_complete: "/queue/REDUCTION.COMPLETE",
  reduction_error: "/queue/REDUCTION.ERROR",
  reduction_disabled: "/queue/REDUCTION.DISABLED",
  heartbeat: "/topic/SNS.COMMON.STATUS.AUTOREDUCE.0",
};
const PRODUCTION_EXCEPTIONS = SNS_PRODUCTION_EXCEPTIONS;

const expected: Array<[string, PostProcessingConfig, Array<[string, number]>, string[]]> = [
  [
    "post_processing.conf",
    {
      queues: SNS_QUEUES,
      scripts: { ...SNS_LAYOUT.scripts, interpreter: "/opt/postprocessing/scripts/mantidpython.py" },
      output: SNS_LAYOUT.output,
      archive: SNS_LAYOUT.archive,
      worker: {
        queues: ["/queue/REDUCTION.DATA_READY", "/queue/REDUCTION.AR4.DATA_READY"],
        max_procs: 10,
        jobs_per_instrument: 4,
        success: "stderr",
        sns_compatible: true,
        exceptions: [
          "Unverified HTTPS",
          "InsecureRequestWarning",
          "plotly",
          "operands could not be broadcast",
          "Publish plot failed",
          "cannot import name factorial",
          "tcmalloc: large alloc",
          "dPS_array",
          "wks_utility",
          "The proton charge is zero",
          "Error in logging framework",
          "Found no integrated charge value in gd_prtn_chrg",
        ],
      },
    },
    [["amqbroker.sns.gov", 61613]],
    ["XXXXX", "xxxxxxx"],
  ],
  [
    "post_processing.test.conf",
    {
      queues: SNS_QUEUES,
      scripts: { ...SNS_LAYOUT.scripts, interpreter: "/opt/postprocessing/scripts/mantidpython.py" },
      output: SNS_LAYOUT.output,
      archive: SNS_LAYOUT.archive,
      worker: {
        queues: ["/queue/REDUCTION.DATA_READY"],
        max_procs: 10,
        jobs_per_instrument: 2,
        success: "stderr",
        sns_compatible: true,
        exceptions: PRODUCTION_EXCEPTIONS,
      },
    },
    [
      ["localhost", 61613],
      ["amqbroker2.example", 61614],
    ],
    ["test-broker-secret", "test-publisher-secret"],
  ],
  [
    "post_process_consumer.himem.conf",
    {
      queues: SNS_QUEUES,
      scripts: SNS_LAYOUT.scripts,
      output: SNS_LAYOUT.output,
      archive: SNS_LAYOUT.archive,
      worker: {
        queues: ["/queue/REDUCTION.HIMEM.DATA_READY"],
        max_procs: 5,
        check_interval_seconds: 0.01,
        time_limit_minutes: 0.1,
        memory_limit: "5%",
        success: "stderr",
        sns_compatible: true,
        exceptions: ["Error in logging framework"],
      },
    },
    [["activemq", 61613]],
    ["himem-secret"],
  ],
];

for (const [name, config, brokers, secrets] of expected) {
  test(`${name} becomes our worker settings`, () => {
    const conf = readPostProcessingConf(fixture(name), name);
    assert.deepEqual(conf.config, config);
    assert.deepEqual(conf.broker?.brokers, brokers);
    assert.equal(conf.broker?.password, secrets[0]);
  });

  test(`${name} merged over autoreduce.yaml is a valid config whose exceptions compile`, () => {
    const yaml = { facility: "SNS", worker: { max_procs: 2, stall_minutes: 30 }, scripts: null };
    const merged = mergePostProcessingConf(yaml, readPostProcessingConf(fixture(name), name));
    const valid = configFromObject(merged, name, {});
    assert.equal(valid.worker.stall_minutes, 30, "the yaml keeps what the SNS file does not say");
    assert.equal(valid.worker.success, "stderr");
    for (const pattern of valid.worker.exceptions) assert.ok(new RegExp(pattern));
    assert.deepEqual(yaml.worker, { max_procs: 2, stall_minutes: 30 }, "the yaml object is not modified");
  });

  test(`${name}: every key is used or ignored, and no secret is printed`, () => {
    const conf = readPostProcessingConf(fixture(name), name);
    const accounted = new Set([...conf.used, ...conf.ignored].map((entry) => entry.key));
    for (const key of Object.keys(JSON.parse(fixture(name)))) assert.ok(accounted.has(key), key);
    const printed = [
      formatPostProcessingConf(conf).join("\n"),
      JSON.stringify(conf),
      inspect(conf, { depth: 9 }),
    ];
    for (const secret of secrets) for (const text of printed) assert.ok(!text.includes(secret), secret);
  });
}

test("the SNS layout finds /SNS/<INST>/shared/autoreduce/reduce_<INST>.py and writes to the IPTS folder", () => {
  const conf = readPostProcessingConf(fixture("post_processing.conf"), "prod");
  const hfir = { HB2C: { script: "/HFIR/HB2C/shared/autoreduce/reduce_HB2C.py" } };
  const config = configFromObject(mergePostProcessingConf({ instruments: hfir }, conf), "prod", {});
  const job = (facility: string, instrument: string) =>
    ReductionJobSchema.parse({ facility, instrument, ipts: "IPTS-1", run_number: 7, data_file: "/d.nxs.h5" });
  const eqsans = locateScript(config, job("SNS", "EQSANS"));
  assert.equal(eqsans.script, "/SNS/EQSANS/shared/autoreduce/reduce_EQSANS.py");
  assert.equal(eqsans.outputDir, "/SNS/EQSANS/IPTS-1/shared/autoreduce");
  assert.equal(eqsans.interpreter, "/opt/postprocessing/scripts/mantidpython.py");
  const hb2c = locateScript(config, job("HFIR", "HB2C"));
  assert.equal(hb2c.script, "/HFIR/HB2C/shared/autoreduce/reduce_HB2C.py", "as the HFIR note in `used` says");
  assert.equal(hb2c.outputDir, "/HFIR/HB2C/IPTS-1/shared/autoreduce");
  assert.deepEqual(config.archive.roots, ["/SNS", "/HFIR"], "data files only from the facility's archive");
  // REDUCTION.CREATE_SCRIPT writes into the script's folder, the agent's, not /SNS/<INST>/.
  assert.equal(scriptFolder(config, "EQSANS"), "/SNS/EQSANS/shared/autoreduce");
});

/** The keys of sns.md §2.7 (the agent's Configuration.py), each with a value of the right type. */
const DOCUMENTED_KEYS: Record<string, unknown> = {
  amq_user: "u",
  amq_pwd: "documented-secret",
  failover_uri: "failover:(tcp://h:61613)",
  brokers: [["h", 61613]],
  sw_dir: "/opt/postprocessing",
  python_dir: "/opt/postprocessing/postprocessing",
  start_script: "python",
  task_script: "PostProcessAdmin.py",
  task_script_queue_arg: "-q",
  task_script_data_arg: "-d",
  log_file: "post_processing.log",
  log_level: "INFO",
  postprocess_error: "POSTPROCESS.ERROR",
  reduction_started: "REDUCTION.STARTED",
  reduction_complete: "REDUCTION.COMPLETE",
  reduction_error: "REDUCTION.ERROR",
  reduction_disabled: "REDUCTION.DISABLED",
  reduction_data_ready: "REDUCTION.DATA_READY",
  heart_beat: "/topic/SNS.COMMON.STATUS.AUTOREDUCE.0",
  heartbeat_ping: "/topic/SNS.COMMON.STATUS.PING",
  create_reduction_script: "REDUCTION.CREATE_SCRIPT",
  service_status: `/topic/SNS.${SNS_INSTRUMENT}.STATUS.POSTPROCESS`,
  python_exec: "python3",
  mantid_path: "/opt/Mantid/bin",
  dev_instrument_shared: "",
  dev_output_dir: "",
  max_procs: 5,
  jobs_per_instrument: 2,
  communication_only: 0,
  exceptions: ["Error in logging framework"],
  processors: [
    "oncat_processor.ONCatProcessor",
    "oncat_reduced_processor.ONCatProcessor",
    "create_reduction_script_processor.CreateReductionScriptProcessor",
    "reduction_processor.ReductionProcessor",
  ],
  system_mem_limit_perc: 70.0,
  mem_check_interval_sec: 0.2,
  task_time_limit_minutes: 60.0,
  oncat_url: "https://oncat.example",
  oncat_api_token: "documented-token",
  image_filepath_metadata_paths: ["metadata.entry.daslogs.bl10:exp:im:imagefilepath.value"],
  calvera_ingest_url: "",
  intersect_ingest_url: "",
  publish_url_template: "https://livedata.example/plots/$instrument/$run_number/upload_plot_data/",
  publisher_username: "plot_publisher",
  publisher_password: "documented-publisher-secret",
  publisher_certificate: "/etc/pki/cert.pem",
};

test("every key the agent documents ends up used or ignored, none silently dropped", () => {
  const conf = read(DOCUMENTED_KEYS);
  const accounted = new Set([...conf.used, ...conf.ignored].map((entry) => entry.key));
  assert.deepEqual(
    Object.keys(DOCUMENTED_KEYS).filter((key) => !accounted.has(key)),
    [],
  );
  assert.equal(conf.ignored.filter((i) => i.reason.startsWith("unknown key")).length, 0);
  const printed = formatPostProcessingConf(conf).join("\n");
  for (const secret of ["documented-secret", "documented-token", "documented-publisher-secret"]) {
    assert.ok(!printed.includes(secret), secret);
  }
  configFromObject(mergePostProcessingConf({}, conf), "(test)", {});
});

test("the start-up report says where each key went and why the others are ignored", () => {
  const lines = formatPostProcessingConf(
    readPostProcessingConf(fixture("post_processing.conf"), "/etc/p.conf"),
  );
  assert.match(lines[0] ?? "", /^SNS agent config \/etc\/p\.conf: \d+ settings used, \d+ ignored$/);
  for (const line of [
    "  used     max_procs → worker.max_procs",
    "  ignored  task_script: our worker runs reductions itself; there is no PostProcessAdmin.py",
    "  ignored  communication_only: 0 (run scripts) is what our worker always does",
  ]) {
    assert.ok(lines.includes(line), line);
  }
  const reasons = lines.join("\n");
  assert.match(reasons, /processors: oncat_processor\.ONCatProcessor: ONCat cataloguing is not built in/);
  assert.match(reasons, /publisher_password: read by plot_publisher/);
  assert.match(reasons, /amq_queues: \/queue\/CATALOG\.DATA_READY: not a reduction queue/);
});

const mappings: Array<[string, Record<string, unknown>, (c: PostProcessingConfig) => unknown, unknown]> = [
  [
    "dev_output_dir replaces the whole output folder",
    { dev_output_dir: " /tmp/out " },
    (c) => c.output,
    { root: "/tmp/out", dir: "." },
  ],
  [
    "the SNS instrument placeholder becomes {instrument}",
    { service_status: `/topic/HFIR.${SNS_INSTRUMENT}.STATUS.POSTPROCESS` },
    (c) => c.queues.service_status,
    "/topic/HFIR.{instrument}.STATUS.POSTPROCESS",
  ],
  ["DEBUG becomes debug", { log_level: "DEBUG" }, (c) => c.log_level, "debug"],
  ["WARNING becomes warn", { log_level: "WARNING" }, (c) => c.log_level, "warn"],
  ["CRITICAL becomes error", { log_level: "CRITICAL" }, (c) => c.log_level, "error"],
  [
    "jobs_per_instrument 0 stays 0 (no limit)",
    { jobs_per_instrument: 0 },
    (c) => c.worker.jobs_per_instrument,
    0,
  ],
  [
    "bare and /queue/ names are one queue",
    { reduction_data_ready: ["REDUCTION.X.DATA_READY", "/queue/REDUCTION.X.DATA_READY"] },
    (c) => c.worker.queues,
    ["/queue/REDUCTION.X.DATA_READY"],
  ],
  [
    "amq_queues adds its REDUCTION.*DATA_READY entries",
    {
      reduction_data_ready: "REDUCTION.DATA_READY",
      amq_queues: ["REDUCTION.HIMEM.DATA_READY", "REDUCTION_CATALOG.DATA_READY"],
    },
    (c) => c.worker.queues,
    ["/queue/REDUCTION.DATA_READY", "/queue/REDUCTION.HIMEM.DATA_READY"],
  ],
  [
    "no exceptions key: the agent's default, still judged by stderr",
    {},
    (c) => [c.worker.success, c.worker.exceptions],
    ["stderr", ["Error in logging framework"]],
  ],
  ["no queue keys: our default queue", {}, (c) => c.worker.queues, undefined],
  ["a percentage memory limit", { system_mem_limit_perc: 62.5 }, (c) => c.worker.memory_limit, "62.5%"],
];
for (const [name, file, pick, value] of mappings) {
  test(`mapping: ${name}`, () => assert.deepEqual(pick(read(file).config), value));
}

test("a queue name different from the one the agent hard-codes is used, with a note saying so", () => {
  const conf = read({ reduction_started: "REDUCTION.STARTED.DEV" });
  assert.equal(conf.config.queues.reduction_started, "/queue/REDUCTION.STARTED.DEV");
  assert.match(
    conf.used.find((u) => u.key === "reduction_started")?.note ?? "",
    /always used \/queue\/REDUCTION\.STARTED/,
  );
});

test("a high-memory node takes only its processor's queue, not reduction_data_ready", () => {
  const conf = readPostProcessingConf(fixture("post_process_consumer.himem.conf"), "himem");
  assert.match(conf.ignored.find((i) => i.key === "reduction_data_ready")?.reason ?? "", /from `processors`/);
});

test("unknown keys are ignored with their reason", () => {
  const conf = read({ colour: "blue" });
  assert.equal(conf.ignored.find((i) => i.key === "colour")?.reason, "unknown key (not an SNS agent key)");
});

test("dev_instrument_shared and dev_output_dir are applied as the agent does, and acceptance allows them", () => {
  const conf = read({
    dev_instrument_shared: "/tmp/shared",
    dev_output_dir: "/tmp/out",
    autoreduce_archive_roots: ["/tmp/data"],
  });
  assert.deepEqual(conf.config.scripts, { root: "/tmp/shared", folder: ".", file: "reduce_{instrument}.py" });
  const config = configFromObject(mergePostProcessingConf({}, conf), "dev", {});
  const job = ReductionJobSchema.parse({
    facility: "SNS",
    instrument: "eqsans",
    ipts: "IPTS-10674",
    run_number: "30892",
    data_file: "/tmp/data/EQSANS_30892_event.nxs",
  });
  const where = locateScript(config, job);
  assert.equal(where.script, "/tmp/shared/reduce_EQSANS.py", "<dev_instrument_shared>/reduce_<INST>.py");
  assert.equal(where.outputDir, "/tmp/out", "dev_output_dir for every run");
  assert.deepEqual(config.output.root, "/tmp/out", "the output folder lies in output.root");
  assert.deepEqual(config.archive.roots, ["/tmp/data"]);
  assert.equal(config.worker.sns_compatible, true);
  assert.equal(dataFileRefusal(job.data_file, config.archive.roots), null);
  assert.equal(folderRefusal(where.outputDir, [config.output.root]), null);
});

test("without autoreduce_archive_roots data files come from /SNS and /HFIR, the agent rule", () => {
  const conf = read({ dev_output_dir: "/tmp/out" });
  assert.deepEqual(conf.config.archive?.roots, ["/SNS", "/HFIR"]);
  assert.throws(
    () => read({ autoreduce_archive_roots: ["relative/dir"] }),
    /autoreduce_archive_roots\[0\]: an absolute path/,
  );
});

test("a file without broker keys has no broker; failover_uri alone gives the hosts", () => {
  assert.equal(read({ max_procs: 3 }).broker, null);
  const broker = read({ failover_uri: "failover:(tcp://a:61613,tcp://b:61614)?randomize=false" }).broker;
  assert.deepEqual(broker?.brokers, [
    ["a", 61613],
    ["b", 61614],
  ]);
  assert.equal(broker?.password, null);
});

const badFiles: Array<[string, Record<string, unknown> | unknown[], RegExp]> = [
  ["max_procs as text", { max_procs: "ten" }, /max_procs: expected number, received string/],
  ["a port as text", { brokers: [["h", "61613"]] }, /brokers\[0\]\[1\]: expected number/],
  ["exceptions not a list", { exceptions: "Unverified HTTPS" }, /exceptions: expected array/],
  ["an unknown log level", { log_level: "LOUD" }, /log_level: one of DEBUG, INFO, WARNING, ERROR, CRITICAL/],
  ["a Python-only pattern", { exceptions: ["ok", "(?P<x>a)"] }, /exceptions\[1\]: not a regular expression/],
  [
    "an empty pattern",
    { exceptions: [""] },
    /exceptions\[0\]: an empty pattern would excuse every stderr error/,
  ],
  [
    "an interpreter with arguments",
    { python_exec: "python3 -u" },
    /python_exec: one executable, without arguments/,
  ],
  ["communication_only 1", { communication_only: 1 }, /communication_only: 1 .* is not supported/],
  ["a memory limit over 100 %", { system_mem_limit_perc: 150 }, /system_mem_limit_perc: .*100/],
  ["a list at the top", [1, 2], /one JSON object/],
];
for (const [name, file, message] of badFiles) {
  test(`a file with ${name} is refused naming the key`, () => {
    assert.throws(
      () => readPostProcessingConf(JSON.stringify(file), "/etc/autoreduce/post_processing.conf"),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.file === "/etc/autoreduce/post_processing.conf" &&
        message.test(e.message),
    );
  });
}

test("a password of the wrong type is refused without showing it", () => {
  assert.throws(
    () => read({ amq_pwd: 987654321 }),
    (e: unknown) =>
      e instanceof ConfigError && /amq_pwd: expected string/.test(e.message) && !/987654321/.test(e.message),
  );
});

test("the production file with its typographic quotes is refused at the line, column and key of the first", () => {
  assert.throws(
    () =>
      readPostProcessingConf(fixture("post_processing.typo.conf"), "/etc/autoreduce/post_processing.conf"),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.file, "/etc/autoreduce/post_processing.conf");
      assert.deepEqual(e.problems, [
        "not valid JSON at line 6, column 16 (in amq_pwd): unexpected '”' (a typographic quote; JSON needs \") where a value was expected",
        "typographic quotes (“ ”), which JSON does not accept, on lines 6, 39",
      ]);
      assert.ok(!e.message.includes("XXXXX") && !e.message.includes("xxxxxxx"));
      return true;
    },
  );
});

const badJson: Array<[string, string, string]> = [
  [
    "a line break inside quotes",
    '{\n  "failover_uri": "failover:(tcp://h:1,\n  x)"\n}',
    "line 2, column 40 (in failover_uri): a line break inside quotes",
  ],
  [
    "a trailing comma",
    '{"max_procs": 1,\n}',
    "line 2, column 1: unexpected '}' where a quoted key was expected",
  ],
  [
    "a missing comma",
    '{"max_procs": 1\n "jobs_per_instrument": 2}',
    "line 2, column 2 (in max_procs): unexpected '\"' where ',' or '}' was expected",
  ],
  [
    "a list with a trailing comma",
    '{"exceptions": ["a",]}',
    "line 1, column 21 (in exceptions[1]): unexpected ']' where a value was expected",
  ],
  [
    "an unquoted password",
    '{"amq_pwd": hunter2}',
    "line 1, column 13 (in amq_pwd): an unexpected character where a value was expected",
  ],
  [
    "a cut-off file",
    '{"max_procs": 1',
    "line 1, column 16 (in max_procs): the file ends where ',' or '}' was expected",
  ],
];
for (const [name, text, problem] of badJson) {
  test(`a file with ${name} is refused at its line and column`, () => {
    assert.throws(
      () => readPostProcessingConf(text, "f.conf"),
      (e: unknown) =>
        e instanceof ConfigError &&
        (e.problems[0] ?? "").startsWith(`not valid JSON at ${problem}`) &&
        !e.message.includes("hunter2"),
    );
  });
}
