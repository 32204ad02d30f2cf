import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageBuildError, messageBody } from "../../src/messages/message-body.ts";
import { StatusReportSchema } from "../../src/messages/status-report.ts";

test("a message body is the fields as given, once they pass the consumers' schema", () => {
  const body = messageBody(StatusReportSchema, {
    instrument: "TR",
    run_number: "30892",
    information: "host1",
  });
  assert.equal(body, '{"instrument":"TR","run_number":"30892","information":"host1"}');
});

test("a body the consumers would refuse is never built", () => {
  assert.throws(
    () => messageBody(StatusReportSchema, { instrument: "", run_number: 1 }),
    (e) => e instanceof MessageBuildError && /instrument/.test(e.message),
  );
});
