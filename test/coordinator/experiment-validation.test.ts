import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { listRuns, runEvents } from "../../src/store/run-views.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

const PLACEHOLDER = "INVALID RB NUMBER CALIBRATION RUN PERHAPS";

describe("experiment numbers are judged by the instrument's experiment_pattern (ISIS RB, SNS IPTS)", () => {
  let stack: Stack;
  let coordinator: Coordinator;
  let errors: IncomingMessage[];
  let jobs: IncomingMessage[];
  let dataFile: string;

  before(async () => {
    stack = await openStack({
      output: { dir: "{instrument}/RB{experiment}/autoreduced" },
      instruments: { MARI: { convention: "isis", facility: "ISIS" }, TR: {} },
    });
    for (const [inst, script] of [
      ["MARI", "reduce.py"],
      ["TR", "reduce_TR.py"],
    ] as const) {
      mkdirSync(join(stack.config.scripts.root, inst), { recursive: true });
      writeFileSync(
        join(stack.config.scripts.root, inst, script),
        "def main(input_file, output_dir):\n    pass\n",
      );
    }
    coordinator = await Coordinator.start({ ...stack, log: silentLogger() });
    errors = await stack.collect(stack.config.queues.postprocess_error);
    jobs = await stack.collect(stack.config.queues.reduction_data_ready);
    const dir = join(stack.dir, "archive", "NDXMARI", "Instrument", "data", "cycle_24_1");
    mkdirSync(dir, { recursive: true });
    dataFile = join(dir, "MAR1.nxs");
    writeFileSync(dataFile, "raw");
  });
  after(async () => {
    await coordinator.stop();
    await stack.close();
  });

  const send = (over: Record<string, unknown>) =>
    stack.transport.send(stack.config.queues.data_ready, {
      body: JSON.stringify({ facility: "ISIS", instrument: "MARI", data_file: dataFile, ...over }),
    });
  const recorded = (instrument: string, run: number) =>
    waitFor(
      async () => (await listRuns(stack.database, { instrument })).find((r) => r.run_number === run) ?? null,
      `${instrument} run ${run} recorded`,
    );

  const skips: Array<[string, string | number, RegExp]> = [
    ["ISIS's calibration placeholder", PLACEHOLDER, /does not match \^\\d\{7\}\$/],
    ["an RB of five digits", "12345", /"12345" does not match/],
    ["an RB with the RB prefix", "RB1920321", /"RB1920321" does not match/],
    ["experiment 0 (ISIS's normalised non-integer RB)", 0, /"0" does not match/],
  ];
  for (const [index, [name, rb, reason]] of skips.entries()) {
    test(`a DATA_READY with ${name} is recorded as skipped with the reason, never reduced, no folder made`, async () => {
      const run = 100 + index;
      const before = { jobs: jobs.length, errors: errors.length };
      await send({ ipts: rb, run_number: run });
      const r = await recorded("MARI", run);
      assert.equal(r.status, "skipped");
      assert.match(r.message ?? "", /not a valid experiment for MARI/);
      assert.match(r.message ?? "", reason);
      assert.equal(r.experiment, String(rb));
      assert.equal(r.output_dir, null);
      const timeline = await runEvents(stack.database, "MARI", run);
      assert.equal(timeline.length, 1, "the DATA_READY is on the run's timeline");
      // Give a wrongly sent job or error time to arrive: a valid run sent after it arrives first.
      await send({ ipts: "1920321", run_number: 200 + index });
      await waitFor(() => jobs.length > before.jobs, "the valid run's job");
      assert.equal(jobs.length, before.jobs + 1, "only the valid run was sent to a worker");
      assert.equal(errors.length, before.errors, "nothing went to the error queue");
      assert.ok(!existsSync(join(stack.config.output.root, "MARI", `RB${rb}`)));
    });
  }

  test("a valid seven-digit RB, as a number or a string, is queued and reduced", async () => {
    await send({ ipts: 1920321, run_number: 300 });
    const r = await recorded("MARI", 300);
    assert.equal(r.status, "queued");
    assert.equal(r.experiment, "1920321");
  });

  test("SNS: IPTS-<digits> (any case) is valid; another experiment is skipped; a path escape still goes to the error queue", async () => {
    const file = join(stack.dir, "archive", "TR", "IPTS-7", "nexus", "TR_1.nxs.h5");
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, "raw");
    const tr = (over: Record<string, unknown>) =>
      send({ facility: "SNS", instrument: "TR", data_file: file, ...over });
    await tr({ ipts: "ipts-7", run_number: 1 });
    assert.equal((await recorded("TR", 1)).status, "queued");
    await tr({ ipts: "IPTS 9", run_number: 2 });
    const skipped = await recorded("TR", 2);
    assert.equal(skipped.status, "skipped");
    assert.match(skipped.message ?? "", /"IPTS 9" does not match \^IPTS-\\d\+\$/);
    const before = errors.length;
    await tr({ ipts: "../../x", run_number: 3 });
    await waitFor(() => errors.length > before, "the refusal");
    assert.match(JSON.parse(errors[before]?.body ?? "{}").error, /ipts: .*no "\/"/);
  });

  test("an instrument's own experiment_pattern replaces the convention's", async () => {
    const own = await openStack({
      instruments: { MARI: { convention: "isis", experiment_pattern: "^\\d+$" } },
    });
    try {
      const { invalidExperimentReason } = await import("../../src/coordinator/data-ready-intake.ts");
      assert.equal(invalidExperimentReason(own.config, "MARI", "12345"), null);
      assert.match(invalidExperimentReason(own.config, "MARI", PLACEHOLDER) ?? "", /\^\\d\+\$/);
    } finally {
      await own.close();
    }
  });
});
