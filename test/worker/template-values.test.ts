import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../src/logging/logger.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { ReductionWorker } from "../../src/worker/reduction-worker.ts";
import { templateValueRefusal } from "../../src/worker/template-values.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

const VALUES: Array<[string, string | number | boolean, boolean]> = [
  ["a number", -2.5, true],
  ["a number as text", "-2.5", true],
  ["a boolean", true, true],
  ["a path", "/SNS/CNCS/shared/mask.xml", true],
  ["ranges", "1-7,122-128", true],
  ["a list", "[0.1, 0.2]", true],
  ["a call", "__import__(chr(111)).system", false],
  ["a quote closing the literal", 'x"; import os', false],
  ["a single quote", "it's", false],
  ["a line break", "1\nimport os", false],
  ["a carriage return", "1\rimport os", false],
  ["a backslash", "a\\nb", false],
  ["a statement separator", "1; import os", false],
  ["braces (f-strings)", "{x}", false],
];
for (const [what, value, safe] of VALUES) {
  test(`a template value with ${what} is ${safe ? "accepted" : "refused"}`, () => {
    const refusal = templateValueRefusal({ v: value });
    if (safe) assert.equal(refusal, null);
    else assert.match(String(refusal), /template value v holds characters/);
  });
}

describe("REDUCTION.CREATE_SCRIPT cannot write code into an instrument's script", () => {
  let stack: Stack;
  let worker: ReductionWorker;
  let errors: IncomingMessage[];
  let status: IncomingMessage[];
  const script = () => join(stack.config.scripts.root, "CNCS", "reduce_CNCS.py");

  before(async () => {
    stack = await openStack({ instruments: { CNCS: {} } });
    mkdirSync(join(stack.config.scripts.root, "CNCS"), { recursive: true });
    // The SNS placeholder syntax (Python's string.Template), not a template literal.
    const placeholder = (name: string) => `$${"{"}${name}}`;
    writeFileSync(
      `${script()}.template`,
      `e_min = ${placeholder("e_min")}\nmask = "${placeholder("mask")}"\n`,
    );
    errors = await stack.collect(stack.config.queues.postprocess_error);
    status = await stack.collect("/topic/SNS.CNCS.STATUS.POSTPROCESS");
    worker = await ReductionWorker.start({
      config: stack.config,
      transport: stack.transport,
      log: silentLogger(),
    });
  });
  after(async () => {
    await worker.stop();
    await stack.close();
  });

  test("a value that would be code is refused: the script is not written, the error queue and WebMon's topic say why", async () => {
    await stack.transport.send(stack.config.queues.create_script, {
      body: JSON.stringify({
        instrument: "CNCS",
        use_default: false,
        template_data: { e_min: "__import__('os').system('id')", mask: "1-7" },
      }),
    });
    await waitFor(() => errors.length === 1 && status.length === 1, "the refusal");
    assert.match(JSON.parse(errors[0]?.body ?? "{}").error, /template value e_min holds characters/);
    assert.match(JSON.parse(status[0]?.body ?? "{}").status, /^Error creating CNCS reduction script: /);
    assert.ok(!existsSync(script()), "no script was written");
  });

  test("plain values still make the script", async () => {
    await stack.transport.send(stack.config.queues.create_script, {
      body: JSON.stringify({
        instrument: "CNCS",
        use_default: false,
        template_data: { e_min: -2.5, mask: "1-7" },
      }),
    });
    await waitFor(() => existsSync(script()), "the script written");
  });
});
