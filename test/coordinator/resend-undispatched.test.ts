import assert from "node:assert/strict";
import { test } from "node:test";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { recordReadyRun } from "../../src/store/run-store.ts";
import { listRuns, runEvents } from "../../src/store/run-views.ts";
import { openStack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

test("a reduction recorded but never sent (coordinator stopped in between) is sent at the next start", async () => {
  const stack = await openStack({ instruments: { NOM: {} } });
  try {
    // What a coordinator that died right after its commit leaves behind: a queued, undispatched reduction.
    await recordReadyRun(stack.database, {
      facility: "SNS",
      instrument: "NOM",
      experiment: "IPTS-3",
      runNumber: 77,
      dataFile: "/archive/NOM/IPTS-3/nexus/NOM_77.nxs.h5",
      title: null,
      startTime: null,
      endTime: null,
      metadata: {},
      messageId: "dr-77",
      destination: "/queue/POSTPROCESS.DATA_READY",
      body: "{}",
      dedupeKey: null,
      reason: "automatic",
      startedBy: null,
      outputDir: () => "/out/NOM/IPTS-3",
    });
    const jobs = await stack.collect(stack.config.queues.reduction_data_ready);
    const coordinator = await Coordinator.start({ ...stack, log: silentLogger() });
    await waitFor(() => jobs.length === 1, "the job to be sent");
    await coordinator.stop();
    const job = JSON.parse(jobs[0]?.body ?? "{}");
    assert.deepEqual([job.instrument, job.run_number, job.ipts, job.run_version], ["NOM", 77, "IPTS-3", 0]);
    const events = await runEvents(stack.database, "NOM", 77);
    assert.deepEqual(
      events.map((e) => e.destination),
      ["/queue/POSTPROCESS.DATA_READY", "/queue/REDUCTION.DATA_READY"],
    );
    // A second start sends nothing more (a send is recorded as an event before start returns).
    const again = await Coordinator.start({ ...stack, log: silentLogger() });
    await again.stop();
    assert.equal((await runEvents(stack.database, "NOM", 77)).length, 2);
    assert.equal((await listRuns(stack.database))[0]?.status, "queued");
  } finally {
    await stack.close();
  }
});
