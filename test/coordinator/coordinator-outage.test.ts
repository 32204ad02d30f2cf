import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { configFromObject } from "../../src/config/load-config.ts";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { deadLetterDestination } from "../../src/messages/destinations.ts";
import { listRuns } from "../../src/store/run-views.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { openTransport } from "../../src/transport/open-transport.ts";
import type { IncomingMessage, Transport } from "../../src/transport/transport.ts";
import { sharedActiveMQ } from "../helpers/brokers.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * A facility coordinator (PostgreSQL + ActiveMQ) whose database refuses connections for longer
 * than the broker's redeliveries last: PostgreSQL answers SQLSTATE 55000 ("database is not
 * currently accepting connections") while `ALLOW_CONNECTIONS` is false.
 */
const tmp = tempDir("autoreduce-outage-");
const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const q = (name: string) => `/queue/OUTAGE_${suffix}.${name}`;
let scratch: { url: string; drop: () => Promise<void> };
let database: SqlDatabase;
let transport: { transport: Transport; close: () => Promise<void> };
let coordinator: Coordinator;
const admin = () => new pg.Client({ connectionString: scratch.url.replace(/\/[^/]+$/, "/postgres") });
const dbName = () => scratch.url.slice(scratch.url.lastIndexOf("/") + 1);

async function allowConnections(allow: boolean): Promise<void> {
  const client = admin();
  await client.connect();
  try {
    await client.query(`alter database ${dbName()} allow_connections ${allow}`);
    if (!allow)
      await client.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [
        dbName(),
      ]);
  } finally {
    await client.end();
  }
}

before(async () => {
  scratch = await createTestDatabase();
  mkdirSync(join(tmp.path, "archive", "DEMO", "IPTS-1", "nexus"), { recursive: true });
  mkdirSync(join(tmp.path, "scripts", "DEMO"), { recursive: true });
  writeFileSync(join(tmp.path, "scripts", "DEMO", "reduce_DEMO.py"), "print('reducing')\n");
  const config = configFromObject(
    {
      data_dir: tmp.path,
      database: { url: scratch.url },
      transport: { kind: "stomp", stomp: { brokers: sharedActiveMQ() } },
      instruments: { DEMO: {} },
      queues: {
        data_ready: q("DATA_READY"),
        postprocess_error: q("ERROR"),
        reduction_data_ready: q("REDUCTION.DATA_READY"),
        reduction_started: q("REDUCTION.STARTED"),
        reduction_complete: q("REDUCTION.COMPLETE"),
        reduction_error: q("REDUCTION.ERROR"),
        reduction_disabled: q("REDUCTION.DISABLED"),
        reduction_retrying: q("REDUCTION.RETRYING"),
        reduction_request: q("REDUCTION.REQUEST"),
      },
    },
    join(tmp.path, "autoreduce.yaml"),
    {},
  );
  database = await openStateDatabase(scratch.url);
  transport = await openTransport(config, silentLogger());
  coordinator = await Coordinator.start({
    config,
    database,
    transport: transport.transport,
    log: silentLogger(),
  });
});

after(async () => {
  await coordinator?.stop();
  await transport?.close();
  await database?.close();
  await allowConnections(true).catch(() => {});
  await scratch?.drop();
  tmp.cleanup();
});

test("a COMPLETE that arrives while the database refuses connections is held until it is back: the run completes, nothing is dead-lettered", async () => {
  const send = (destination: string, body: unknown) =>
    transport.transport.send(destination, { body: JSON.stringify(body) });
  const collect = async (destination: string) => {
    const got: IncomingMessage[] = [];
    await transport.transport.subscribe(destination, async (m) => {
      got.push(m);
    });
    return got;
  };
  const jobs = await collect(q("REDUCTION.DATA_READY"));
  const dead = await collect(deadLetterDestination(q("REDUCTION.COMPLETE")));
  const errors = await collect(q("ERROR"));
  const dataFile = join(tmp.path, "archive", "DEMO", "IPTS-1", "nexus", "DEMO_7.nxs.h5");
  writeFileSync(dataFile, "raw");
  const run = { facility: "SNS", instrument: "DEMO", ipts: "IPTS-1", run_number: 7, data_file: dataFile };
  await send(q("DATA_READY"), run);
  const job = JSON.parse((await waitFor(() => jobs[0], "the job", 60_000)).body) as { job_id: string };
  await send(q("REDUCTION.STARTED"), { ...run, job_id: job.job_id, attempt: 1, host: "node1" });
  const status = async () => (await listRuns(database))[0]?.status;
  await waitFor(async () => (await status()) === "running", "the run running", 60_000);

  await allowConnections(false);
  // Connections refused (55000); one that was open when blocked may fail first with 57P01.
  await waitFor(
    () =>
      status().then(
        () => false,
        (e: Error & { code?: string }) => e.code === "55000",
      ),
    "connections refused with 55000",
  );
  await send(q("REDUCTION.COMPLETE"), { ...run, job_id: job.job_id, attempt: 1, host: "node1" });
  // The outage outlasts five deliveries (1 + 2 + 4 + 8 s of redelivery delays) by far; a COMPLETE
  // handed back to the broker would be in the dead-letter queue by then.
  const until = Date.now() + 25_000;
  await waitFor(() => dead.length > 0 || Date.now() > until, "the outage to pass", 60_000, 200);
  assert.equal(dead.length, 0, "the COMPLETE was dead-lettered during the outage");
  await allowConnections(true);

  await waitFor(async () => (await status()) === "completed", "the run completed", 60_000, 200);
  assert.deepEqual([dead.length, errors.length], [0, 0]);
});
