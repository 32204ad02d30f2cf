import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { writeEventNexus } from "../../src/demo/event-nexus-writer.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { listRuns } from "../../src/store/run-views.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { sharedActiveMQ } from "../helpers/brokers.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait-for.ts";

const run = `${process.pid}.${Date.now().toString(36)}`;
/** On ActiveMQ the state database is SQLite and the messages go through the shared broker. */
const onActiveMQ = () => ({
  transport: { kind: "stomp" as const, stomp: { brokers: [sharedActiveMQ()] } },
  queues: {
    data_ready: `/queue/TEST.${run}.DATA_READY`,
    postprocess_error: `/queue/TEST.${run}.ERROR`,
    reduction_data_ready: `/queue/TEST.${run}.JOBS`,
    reduction_request: `/queue/TEST.${run}.REQUEST`,
    reduction_started: `/queue/TEST.${run}.STARTED`,
    reduction_complete: `/queue/TEST.${run}.COMPLETE`,
    reduction_error: `/queue/TEST.${run}.REDUCTION_ERROR`,
    reduction_disabled: `/queue/TEST.${run}.DISABLED`,
    reduction_retrying: `/queue/TEST.${run}.RETRYING`,
  },
});

for (const backend of ["SQLite", "PostgreSQL", "ActiveMQ"] as const) {
  describe(`DATA_READY identity and names on ${backend}`, () => {
    let stack: Stack;
    let coordinator: Coordinator;
    let errors: IncomingMessage[];
    let jobs: IncomingMessage[];
    let drop = async () => {};
    let nexusDir: string;

    before(async () => {
      let url: string | undefined;
      if (backend === "PostgreSQL") ({ url, drop } = await createTestDatabase());
      const transport = backend === "ActiveMQ" ? onActiveMQ() : {};
      stack = await openStack({ instruments: { TR: {} }, ...transport }, url);
      mkdirSync(join(stack.config.scripts.root, "TR"), { recursive: true });
      writeFileSync(join(stack.config.scripts.root, "TR", "reduce_TR.py"), "print('reducing')\n");
      coordinator = await Coordinator.start({ ...stack, log: silentLogger() });
      errors = await stack.collect(stack.config.queues.postprocess_error);
      jobs = await stack.collect(stack.config.queues.reduction_data_ready);
      nexusDir = join(stack.dir, "archive", "TR", "IPTS-7", "nexus");
      mkdirSync(nexusDir, { recursive: true });
    });
    after(async () => {
      await coordinator.stop();
      await stack.close();
      await drop();
    });

    const send = (body: unknown, destination = stack.config.queues.data_ready) =>
      stack.transport.send(destination, { body: typeof body === "string" ? body : JSON.stringify(body) });
    const notice = (dataFile: string, over: Record<string, unknown> = {}) => ({
      facility: "SNS",
      instrument: "TR",
      ipts: "IPTS-7",
      data_file: dataFile,
      started_by: "listener",
      ...over,
    });
    const runNumbers = async () =>
      (await listRuns(stack.database)).map((r) => r.run_number).sort((a, b) => a - b);

    test("a notice naming another run for the same file content is recorded as its own run", async () => {
      const file = join(nexusDir, "TR_3.nxs.h5");
      writeFileSync(file, "not a NeXus file: its run number cannot be read");
      await send(notice(file, { run_number: 999 }));
      await waitFor(async () => (await runNumbers()).includes(999), "run 999");
      await send(notice(file, { run_number: 3 }));
      await waitFor(async () => (await runNumbers()).includes(3), "run 3 (the correct one)");
      await send(notice(file, { run_number: 3, information: "re-sent" }));
      await send(notice(file, { run_number: 999, information: "re-sent" }));
      await waitFor(() => jobs.length === 2, "a job for each run");
      const versions = await listRuns(stack.database, { allVersions: true });
      assert.deepEqual(versions.map((r) => [r.run_number, r.version]).sort(), [
        [3, 0],
        [999, 0],
      ]);
      assert.equal(errors.length, 0);
    });

    test("a conflicting notice that contradicts the file's own run number goes to POSTPROCESS.ERROR naming both", async () => {
      const file = join(nexusDir, "TR_41.nxs.h5");
      await writeEventNexus(file, {
        instrument: "TR",
        runNumber: 41,
        experiment: "IPTS-7",
        title: "run 41",
        banks: 1,
        eventsPerBank: 10,
        seed: 41,
        startTime: new Date(),
        durationSeconds: 1,
      });
      await send(notice(file, { run_number: 41 }));
      await waitFor(async () => (await runNumbers()).includes(41), "run 41");
      const before = errors.length;
      await send(notice(file, { run_number: 4100, ipts: "IPTS-8" }));
      await waitFor(() => errors.length === before + 1, "the refused notice");
      const error = JSON.parse(errors[before]?.body ?? "{}");
      assert.match(error.error, /TR run 41 \(IPTS-7\)/);
      assert.match(error.error, /TR run 4100 \(IPTS-8\)/);
      assert.match(error.error, /entry\/run_number is 41/);
      assert.equal(error.run_number, 4100, "the original fields are kept");
      assert.ok(!(await runNumbers()).includes(4100));
    });

    const escapes: Array<[string, Record<string, unknown>, RegExp]> = [
      ["an experiment climbing out with ..", { ipts: "../../../../ESCAPED2" }, /ipts: .*letters, digits/],
      ["an experiment of ..", { ipts: ".." }, /ipts: must not be "\.\."/],
      ["an experiment with a NUL", { ipts: "IPTS-1\u0000x" }, /ipts: /],
      ["an instrument with a slash", { instrument: "TR/../../X" }, /instrument: /],
      ["an overlong experiment", { ipts: "I".repeat(300) }, /ipts: is 300 characters long/],
    ];
    for (const [name, over, reason] of escapes) {
      test(`a DATA_READY with ${name} is refused to POSTPROCESS.ERROR and writes nothing`, async () => {
        const file = join(nexusDir, "TR_50.nxs.h5");
        writeFileSync(file, "raw");
        const before = errors.length;
        await send(notice(file, { run_number: 50, started_by: "submit:x", ...over }));
        await waitFor(() => errors.length === before + 1, "the refusal");
        assert.match(JSON.parse(errors[before]?.body ?? "{}").error, reason);
        assert.ok(!(await runNumbers()).includes(50));
        assert.equal(existsSync(join(stack.dir, "ESCAPED2")), false);
      });
    }

    test("a refusal whose reason holds a NUL still reaches POSTPROCESS.ERROR (not the DLQ)", async () => {
      const file = join(nexusDir, "TR_80\u0000.nxs.h5");
      const before = errors.length;
      await send(notice(file, { run_number: 80 }));
      await waitFor(() => errors.length === before + 1, "the refusal", 30_000);
      const error = JSON.parse(errors[before]?.body ?? "{}");
      assert.ok(error.error.endsWith(`Data file not found: ${file}`), error.error);
      if (backend === "ActiveMQ")
        assert.ok(!(errors[before]?.headers["x-error-reason"] ?? "").includes("\u0000"));
    });

    test("a bare path whose experiment folder is not a valid experiment is recorded as skipped, not reduced", async () => {
      const dir = join(stack.dir, "archive", "TR", "IPTS 9", "nexus");
      mkdirSync(dir, { recursive: true });
      const file = join(dir, "TR_60.nxs.h5");
      writeFileSync(file, "raw");
      const before = errors.length;
      await send(file);
      const run = await waitFor(
        async () => (await listRuns(stack.database)).find((r) => r.run_number === 60) ?? null,
        "run 60 recorded",
      );
      assert.equal(run.status, "skipped");
      assert.match(run.message ?? "", /"IPTS 9" does not match/);
      assert.equal(errors.length, before);
    });

    test("a REDUCTION.REQUEST whose instrument is not a safe name is refused to POSTPROCESS.ERROR", async () => {
      const before = errors.length;
      await send({ instrument: "../../TR", run_number: 3 }, stack.config.queues.reduction_request);
      await waitFor(() => errors.length === before + 1, "the refusal");
      assert.match(JSON.parse(errors[before]?.body ?? "{}").error, /instrument: /);
    });
  });
}
