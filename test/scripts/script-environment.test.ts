import assert from "node:assert/strict";
import { test } from "node:test";
import { matchesRule, scriptEnvironment } from "../../src/scripts/script-environment.ts";

const JOB = {
  instrument: "EQSANS",
  runNumber: 12,
  experiment: "IPTS-1",
  outputDir: "/out/",
  jobId: "j1",
  tmpDir: "/ws/tmp",
  pythonPath: ["/ws/vars", "/scripts/EQSANS"],
  varsJson: "/ws/vars/reduce_vars.json",
};

const WORKER_ENV = {
  PATH: "/usr/bin",
  HOME: "/home/reduce",
  LANG: "C.UTF-8",
  LC_ALL: "C",
  TZ: "UTC",
  USER: "reduce",
  TMPDIR: "/tmp",
  AUTOREDUCE_STOMP_PASSWORD: "secret",
  AUTOREDUCE_DATABASE_URL: "postgres://u:p@h/db",
  PGPASSWORD: "secret",
  CONDA_PREFIX: "/opt/conda",
  CONDA_DEFAULT_ENV: "mantid",
  PYTHONPATH: "/opt/mantid/lib",
  MANTIDPATH: "/opt/mantid/bin",
};

const CASES: Array<[string, string, boolean]> = [
  ["PATH", "PATH", true],
  ["PATHS", "PATH", false],
  ["CONDA_PREFIX", "CONDA_*", true],
  ["CONDA", "CONDA_*", false],
  ["LC_ALL", "LC_*", true],
];
for (const [name, rule, expected] of CASES) {
  test(`rule ${rule} ${expected ? "matches" : "does not match"} ${name}`, () => {
    assert.equal(matchesRule(name, rule), expected);
  });
}

test("without pass-through a script gets only the base and ours; credentials never", () => {
  const env = scriptEnvironment(WORKER_ENV, { passthrough: [], fixed: {} }, JOB);
  assert.deepEqual(env, {
    PATH: "/usr/bin",
    HOME: "/home/reduce",
    LANG: "C.UTF-8",
    LC_ALL: "C",
    TZ: "UTC",
    USER: "reduce",
    TMPDIR: "/ws/tmp",
    PYTHONUNBUFFERED: "1",
    PYTHONPATH: "/ws/vars:/scripts/EQSANS",
    AUTOREDUCE_INSTRUMENT: "EQSANS",
    AUTOREDUCE_RUN_NUMBER: "12",
    AUTOREDUCE_EXPERIMENT: "IPTS-1",
    AUTOREDUCE_OUTPUT_DIR: "/out/",
    AUTOREDUCE_JOB_ID: "j1",
    AUTOREDUCE_VARS_JSON: "/ws/vars/reduce_vars.json",
  });
});

test("pass-through names and prefixes come in; an inherited PYTHONPATH goes after ours; fixed values win", () => {
  const env = scriptEnvironment(
    WORKER_ENV,
    {
      passthrough: ["CONDA_*", "PYTHONPATH", "MANTIDPATH"],
      fixed: { MANTIDPATH: "/fixed", TMPDIR: "/nope" },
    },
    JOB,
  );
  assert.equal(env.CONDA_PREFIX, "/opt/conda");
  assert.equal(env.CONDA_DEFAULT_ENV, "mantid");
  assert.equal(env.PYTHONPATH, "/ws/vars:/scripts/EQSANS:/opt/mantid/lib");
  assert.equal(env.MANTIDPATH, "/fixed");
  assert.equal(env.TMPDIR, "/ws/tmp", "ours win over fixed values");
  assert.equal(env.PGPASSWORD, undefined);
  assert.equal(env.AUTOREDUCE_STOMP_PASSWORD, undefined);
});

test("only the values of the names a script gets are read from the worker's environment", () => {
  // Each read of a process.env value is a getenv call; a worker has dozens of names a script never gets.
  const read: string[] = [];
  const source = new Proxy(WORKER_ENV, {
    get(target, name, receiver) {
      if (typeof name === "string") read.push(name);
      return Reflect.get(target, name, receiver);
    },
  });
  const env = scriptEnvironment(source, { passthrough: ["CONDA_*"], fixed: {} }, JOB);
  assert.equal(env.CONDA_PREFIX, "/opt/conda");
  assert.deepEqual(read.sort(), [
    "CONDA_DEFAULT_ENV",
    "CONDA_PREFIX",
    "HOME",
    "LANG",
    "LC_ALL",
    "PATH",
    "TZ",
    "USER",
  ]);
});
