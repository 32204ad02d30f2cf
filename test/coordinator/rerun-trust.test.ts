import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { believed } from "../../src/coordinator/rerun-handler.ts";
import { signJob } from "../../src/messages/job-signature.ts";
import { InvalidMessageError, parseMessage } from "../../src/messages/message-error.ts";
import { ReductionRequestSchema } from "../../src/messages/reduction-request.ts";
import { signRequest } from "../../src/messages/request-signature.ts";

const key = randomBytes(32);
const asked = { instrument: "MARI", run_numbers: [1, 2, 3], started_by: "ops-admin", role: "admin" as const };

function receive(body: Record<string, unknown>) {
  const text = JSON.stringify(body);
  return believed(parseMessage(ReductionRequestSchema, text), text, key);
}

test("a request signed by our CLI or web part is believed about who asks and in which role", () => {
  const request = receive(signRequest(asked, key));
  assert.equal(request.role, "admin");
  assert.equal(request.started_by, "ops-admin");
});

test("an unsigned request claiming admin gets the smallest cap and an unverified requester", () => {
  const request = receive(asked);
  assert.equal(request.role, "user");
  assert.equal(request.started_by, "ops-admin (unverified)");
  const webmon = receive({ instrument: "MARI", run_number: 7, information: "Requested by jdoe" });
  assert.equal(webmon.started_by, "jdoe (unverified)");
});

test("a signed request whose role was raised, or signed with another key, is refused", () => {
  const tampered = { ...signRequest({ ...asked, role: "user" }, key), role: "admin" };
  assert.throws(() => receive(tampered), InvalidMessageError);
  assert.throws(() => receive(signRequest(asked, randomBytes(32))), /does not verify/);
});

test("a job's signature does not pass as a request's", () => {
  const job = signJob({ instrument: "MARI", run_number: 1 }, key);
  const asRequest = { ...asked, request_signature: job.job_signature };
  assert.throws(() => receive(asRequest), /does not verify/);
});
