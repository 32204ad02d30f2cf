import assert from "node:assert/strict";
import { test } from "node:test";
import {
  jobFor,
  jobTooLarge,
  SNS_AGENT_MAX_JOB_BYTES,
  scriptCheckBy,
} from "../../src/coordinator/job-audience.ts";

const BIG_SCRIPT = `# ${"x".repeat(150_000)}\n`;
const job = {
  facility: "SNS",
  instrument: "EQSANS",
  ipts: "IPTS-1",
  run_number: 7,
  data_file: "/SNS/EQSANS/IPTS-1/nexus/EQSANS_7.nxs.h5",
  job_id: "j-7",
  run_version: 0,
  output_dir: "/out/EQSANS/IPTS-1/shared/autoreduce",
  script: { path: "/s/reduce_EQSANS.py", text: BIG_SCRIPT, hash: "abc" },
  interpreter: "python3",
  convention: "sns" as const,
  variables: { standard_vars: { a: 1 }, advanced_vars: {} },
  executor: "local",
  retry: { attempt: 1, deliveries: 1, history: [] },
};

test("what each kind of worker is sent", () => {
  const cases: Array<[string, "autoreduce" | "sns-agent", string[]]> = [
    ["our workers get everything, script text included", "autoreduce", Object.keys(job)],
    [
      "an SNS agent gets the SNS fields and the ones its reports bring back, no script, variables, interpreter or executor",
      "sns-agent",
      [
        "facility",
        "instrument",
        "ipts",
        "run_number",
        "data_file",
        "job_id",
        "run_version",
        "output_dir",
        "retry",
      ],
    ],
  ];
  for (const [name, workers, keys] of cases) {
    assert.deepEqual(Object.keys(jobFor(job, workers)).sort(), [...keys].sort(), name);
  }
});

test("which job bodies may be sent", () => {
  const body = (bytes: number) => "a".repeat(bytes);
  const cases: Array<[string, string, "autoreduce" | "sns-agent", RegExp | null]> = [
    ["any size goes to our workers (they read it from the broker)", body(500_000), "autoreduce", null],
    ["an agent's job at the argument limit: sent", body(SNS_AGENT_MAX_JOB_BYTES), "sns-agent", null],
    [
      "an agent's job one byte over: refused with the reason",
      body(SNS_AGENT_MAX_JOB_BYTES + 1),
      "sns-agent",
      /131072 bytes, more than an SNS post-processing agent can take \(131071: it passes the job as one command-line argument\); not sent/,
    ],
    ["bytes, not characters, count (UTF-8)", "é".repeat(70_000), "sns-agent", /140000 bytes/],
  ];
  for (const [name, text, workers, want] of cases) {
    const got = jobTooLarge(text, workers);
    if (want === null) assert.equal(got, null, name);
    else assert.match(got ?? "", want, name);
  }
});

test("who decides whether an instrument has a script", () => {
  const cases: Array<
    [string, { scriptCheck: "coordinator" | "worker" | null } | null, "autoreduce" | "sns-agent", string]
  > = [
    ["our workers, nothing set: the coordinator", { scriptCheck: null }, "autoreduce", "coordinator"],
    ["SNS agents, nothing set: the worker (the agent)", { scriptCheck: null }, "sns-agent", "worker"],
    [
      "SNS agents, the instrument says coordinator: the coordinator",
      { scriptCheck: "coordinator" },
      "sns-agent",
      "coordinator",
    ],
    [
      "our workers, the instrument says worker: the worker",
      { scriptCheck: "worker" },
      "autoreduce",
      "worker",
    ],
    ["an unknown instrument served by agents: the worker", null, "sns-agent", "worker"],
  ];
  for (const [name, settings, workers, want] of cases) {
    assert.equal(scriptCheckBy(settings, workers), want, name);
  }
});
