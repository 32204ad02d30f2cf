import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { isEmptyScript } from "../../src/coordinator/script-catalog.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { listRuns } from "../../src/store/run-views.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

describe('isEmptyScript: ISIS\'s rule (script text == "")', () => {
  for (const [text, want] of [
    ["", true],
    ["\n", false],
    ["   ", false],
    ["# nothing yet\n", false],
    ["def main(input_file, output_dir):\n    pass\n", false],
  ] as const) {
    test(`${JSON.stringify(text)}: ${want ? "empty" : "not empty"}`, () =>
      assert.equal(isEmptyScript(text), want));
  }
});

describe("an empty reduce.py (ISIS convention)", () => {
  let stack: Stack;
  let coordinator: Coordinator;
  let jobs: IncomingMessage[];
  let errors: IncomingMessage[];
  const script = () => join(stack.config.scripts.root, "MARI", "reduce.py");

  before(async () => {
    stack = await openStack({ instruments: { MARI: { convention: "isis", facility: "ISIS" } } });
    mkdirSync(join(stack.config.scripts.root, "MARI"), { recursive: true });
    coordinator = await Coordinator.start({ ...stack, log: silentLogger() });
    jobs = await stack.collect(stack.config.queues.reduction_data_ready);
    errors = await stack.collect(stack.config.queues.postprocess_error);
  });
  after(async () => {
    await coordinator.stop();
    await stack.close();
  });

  const arrive = async (run: number) => {
    const dir = join(stack.dir, "archive", "NDXMARI", "Instrument", "data", "cycle_24_1");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `MAR${run}.nxs`);
    writeFileSync(file, `raw ${run}`);
    await stack.transport.send(stack.config.queues.data_ready, {
      body: JSON.stringify({
        facility: "ISIS",
        instrument: "MARI",
        ipts: "1920321",
        run_number: run,
        data_file: file,
      }),
    });
    return waitFor(
      async () => (await listRuns(stack.database)).find((r) => r.run_number === run) ?? null,
      `run ${run} recorded`,
    );
  };

  test("makes the run skipped with ISIS's reason, and sends no job", async () => {
    writeFileSync(script(), "");
    const r = await arrive(1);
    assert.equal(r.status, "skipped");
    assert.match(r.message ?? "", /^Script text for current instrument is empty \(.*reduce\.py\)$/);
    assert.equal(errors.length, 0);
    writeFileSync(script(), "def main(input_file, output_dir):\n    pass\n");
    assert.equal((await arrive(2)).status, "queued");
    await waitFor(() => jobs.length > 0, "run 2's job");
    assert.deepEqual(
      jobs.map((j) => JSON.parse(j.body).run_number),
      [2],
      "no job for the skipped run",
    );
  });
});
