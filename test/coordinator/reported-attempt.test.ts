import assert from "node:assert/strict";
import { test } from "node:test";
import { reportedAttempt } from "../../src/coordinator/report-fields.ts";
import { StatusReportSchema } from "../../src/messages/status-report.ts";

const sns = { facility: "SNS", instrument: "eqsans", ipts: "IPTS-1", run_number: "7", information: "node1" };

test("which attempt a report is about", () => {
  const cases: Array<[string, Record<string, unknown>, number]> = [
    ["our worker says so", { ...sns, attempt: 3 }, 3],
    ["our worker's word wins over an echoed retry", { ...sns, attempt: 1, retry: { deliveries: 4 } }, 1],
    ["an SNS agent's report of a first job (no retry echoed): 1", sns, 1],
    [
      "an SNS agent's report of a job sent again echoes its retry: deliveries before it + 1",
      { ...sns, retry: { attempt: 1, deliveries: 1, history: [] } },
      2,
    ],
    ["a retry echoed without a usable count: 1", { ...sns, retry: { deliveries: "two" } }, 1],
    ["a retry that is not an object: 1", { ...sns, retry: 5 }, 1],
  ];
  for (const [name, body, want] of cases) {
    assert.equal(reportedAttempt(StatusReportSchema.parse(body)), want, name);
  }
});
