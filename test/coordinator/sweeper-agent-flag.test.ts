import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { ReductionSweeper } from "../../src/coordinator/reduction-sweeper.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { recordHeartbeat } from "../../src/store/heartbeat-store.ts";
import { listRuns, runEvents } from "../../src/store/run-views.ts";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * An SNS agent's job that runs far too long: the sweeper cannot see it (an agent's heartbeat
 * lists no jobs), so it flags the run once, on its timeline and in its message, and leaves its
 * status to the agent's own report.
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`the sweeper flags an SNS agent's silent run on ${backend}`, () => {
    let stack: Stack;
    let coordinator: Coordinator;
    let jobs: IncomingMessage[];
    let drop = async () => {};
    let timer: NodeJS.Timeout | undefined;

    before(async () => {
      let url: string | undefined;
      if (backend === "PostgreSQL") ({ url, drop } = await createTestDatabase());
      stack = await openStack(
        {
          instruments: { AGENT: { workers: "sns-agent" } },
          // 0.02 min = 1.2 s: flagged soon after it starts.
          sweeper: { interval_seconds: 0.2, grace_seconds: 3, running_flag_minutes: 0.02 },
          heartbeat: {
            interval_seconds: 0.2,
            stale_seconds: 0.5,
            dead_seconds: 1,
            foreign_interval_seconds: 0.2,
          },
        },
        url,
      );
      jobs = await stack.collect(stack.config.queues.reduction_data_ready);
      coordinator = await Coordinator.start({ ...stack, log: silentLogger() });
      // The agent's heartbeat: no kind, no job lists.
      const beat = { src_name: "autoreducer1.sns.gov", role: "postprocessing", status: "0", pid: "99" };
      timer = setInterval(() => void recordHeartbeat(stack.database, beat, Date.now()).catch(() => {}), 100);
    });
    after(async () => {
      clearInterval(timer);
      await coordinator.stop();
      await stack.close();
      await drop();
    });

    test("running past sweeper.running_flag_minutes: flagged once with the reason; the agent's COMPLETE still completes it", async () => {
      const dataFile = join(stack.dir, "archive", "AGENT", "IPTS-1", "nexus", "AGENT_5.nxs.h5");
      mkdirSync(join(dataFile, ".."), { recursive: true });
      writeFileSync(dataFile, "raw");
      const send = (queue: string, body: unknown) =>
        stack.transport.send(queue, { body: JSON.stringify(body) });
      await send(stack.config.queues.data_ready, {
        facility: "SNS",
        instrument: "agent",
        ipts: "IPTS-1",
        run_number: "5",
        data_file: dataFile,
      });
      const job = await waitFor(() => jobs[0], "the job sent to the agent");
      const echo = {
        ...(JSON.parse(job.body) as Record<string, unknown>),
        information: "autoreducer1.sns.gov",
      };
      await send(stack.config.queues.reduction_started, echo);
      const view = async () => (await listRuns(stack.database)).find((r) => r.run_number === 5);
      const flagged = await waitFor(
        async () => ((await view())?.message?.startsWith("running for") ? view() : null),
        "the run flagged",
        30_000,
      );
      assert.equal(flagged?.status, "running", "its status is left to the agent");
      assert.match(
        flagged?.message ?? "",
        /^running for \d+ s since its STARTED from autoreducer1\.sns\.gov with no final report, and no live worker lists it/,
      );
      // More sweeps (a second coordinator's too): still one flag.
      let resent = 0;
      const another = new ReductionSweeper({
        ...stack,
        log: silentLogger(),
        dispatch: async () => {
          resent += 1;
        },
        changed: () => {},
      });
      await another.sweep();
      await another.sweep();
      const flags = (await runEvents(stack.database, "AGENT", 5)).filter(
        (e) => e.destination === "sweeper" && JSON.stringify(e.body).includes('"flag"'),
      );
      assert.equal(flags.length, 1);
      assert.equal(resent, 0, "a running job is flagged, not sent again");

      await send(stack.config.queues.reduction_complete, echo);
      await waitFor(async () => (await view())?.status === "completed", "completed by the agent's report");
    });
  });
}
