import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJob, SIGNATURE_FIELD, signJob, verifyJob } from "../../src/messages/job-signature.ts";

const KEY = Buffer.from("0123456789abcdef0123456789abcdef0123456789abcdef");
const OTHER_KEY = Buffer.from("fedcba9876543210fedcba9876543210fedcba9876543210");

const JOB = {
  facility: "SNS",
  instrument: "EQSANS",
  ipts: "IPTS-1234",
  run_number: 5678,
  data_file: "/SNS/EQSANS/IPTS-1234/nexus/EQSANS_5678.nxs.h5",
  job_id: "job-1",
  run_version: 2,
  output_dir: "/SNS/EQSANS/IPTS-1234/shared/autoreduce",
  script: { path: "/SNS/EQSANS/shared/autoreduce/reduce_EQSANS.py", text: "print(1)\n", hash: "abc" },
  interpreter: "python3",
  convention: "sns",
  variables: { standard_vars: { a: 1, b: [1, 2] }, advanced_vars: { c: "x" } },
};

test("a signed job verifies; a job without the field is unsigned", () => {
  assert.equal(verifyJob(signJob(JOB, KEY), KEY), "valid");
  assert.equal(verifyJob(JOB, KEY), "unsigned");
});

test("the canonical text does not depend on the order fields or keys were written in", () => {
  const reordered = Object.fromEntries(Object.entries(JOB).reverse());
  reordered.variables = { advanced_vars: { c: "x" }, standard_vars: { b: [1, 2], a: 1 } };
  assert.equal(canonicalJob(reordered), canonicalJob(JOB));
  assert.equal(
    verifyJob({ ...reordered, [SIGNATURE_FIELD]: signJob(JOB, KEY)[SIGNATURE_FIELD] }, KEY),
    "valid",
  );
});

test("fields that do not change what runs are not covered (a worker adds retry when it resends)", () => {
  const signed = signJob(JOB, KEY);
  const resent = { ...signed, retry: { attempt: 2, deliveries: 1, history: [] }, information: "node-1" };
  assert.equal(verifyJob(resent, KEY), "valid");
});

const TAMPERED: Array<[string, Record<string, unknown>]> = [
  ["another data file", { data_file: "/etc/passwd" }],
  ["another output folder", { output_dir: "/tmp/x" }],
  ["other script text", { script: { ...JOB.script, text: "import os; os.system('id')\n" } }],
  ["another script path", { script: { ...JOB.script, path: "/tmp/evil.py" } }],
  ["another interpreter", { interpreter: "bash" }],
  ["another convention", { convention: "isis" }],
  ["other variables", { variables: { standard_vars: { a: 2, b: [1, 2] }, advanced_vars: { c: "x" } } }],
  ["another instrument", { instrument: "HYS" }],
  ["another run", { run_number: 5679 }],
  ["another experiment", { ipts: "IPTS-1" }],
  ["another job id", { job_id: "job-2" }],
  ["a field removed", { output_dir: undefined }],
];

for (const [what, change] of TAMPERED) {
  test(`a signed job with ${what} does not verify`, () => {
    assert.equal(verifyJob({ ...signJob(JOB, KEY), ...change }, KEY), "invalid");
  });
}

test("a signature made with another key, or malformed, does not verify", () => {
  assert.equal(verifyJob(signJob(JOB, OTHER_KEY), KEY), "invalid");
  for (const bad of ["", "hmac-sha256:", "hmac-sha256:zz", "sha1:00", 42, null]) {
    assert.equal(verifyJob({ ...JOB, [SIGNATURE_FIELD]: bad }, KEY), "invalid", String(bad));
  }
});
