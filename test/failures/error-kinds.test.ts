import assert from "node:assert/strict";
import { test } from "node:test";
import { InfrastructureError, isRetryable } from "../../src/failures/infrastructure-error.ts";
import { RefusedError } from "../../src/failures/refused-error.ts";

class BrokerDown extends InfrastructureError {}
class BadInput extends RefusedError {}

test("an infrastructure error is retryable; a refusal is not and carries its reason", () => {
  assert.equal(isRetryable(new BrokerDown("broker down")), true);
  const refused = new BadInput("run_number: expected number");
  assert.equal(isRetryable(refused), false);
  assert.equal(refused.reason, "run_number: expected number");
  assert.equal(isRetryable(new Error("plain")), false);
  assert.equal(isRetryable("text"), false);
});
