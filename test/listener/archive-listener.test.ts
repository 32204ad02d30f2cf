import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type TestContext, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { pino } from "pino";
import type { ConfigInput } from "../../src/config/config-schema.ts";
import { configFromObject } from "../../src/config/load-config.ts";
import { writeEventNexus } from "../../src/demo/event-nexus-writer.ts";
import { ArchiveListener, type ArchiveListenerDeps } from "../../src/listener/archive-listener.ts";
import { DataReadySchema } from "../../src/messages/data-ready.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { EmbeddedTransport } from "../../src/transport/embedded/embedded-transport.ts";
import type { OutgoingMessage, Transport } from "../../src/transport/transport.ts";
import { writeIsisNexus } from "../helpers/isis-nexus.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

type Body = Record<string, unknown>;
interface Received {
  body: Body;
  at: number;
}
interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const WARN = 40;
const INFO = 30;

/** A temp archive, a temp SQLite state database with an embedded transport, and what was sent. */
async function setup(
  t: TestContext,
  archive: ConfigInput["archive"] = {},
  instruments?: ConfigInput["instruments"],
  options: { createRoot?: boolean } = {},
) {
  const dir = tempDir("autoreduce-listener-");
  const config = configFromObject(
    {
      data_dir: dir.path,
      archive: { roots: ["archive"], settle_seconds: 0.3, ...archive },
      instruments: instruments ?? { DEMO: {} },
    },
    "(test)",
    {},
  );
  const root = config.archive.roots[0] ?? "";
  const database = await openStateDatabase(`sqlite:${join(dir.path, "state.db")}`);
  if (options.createRoot !== false) mkdirSync(root, { recursive: true });
  const transport = await EmbeddedTransport.open(database as SqlDatabase<unknown>, { pollIntervalMs: 50 });
  const announced: Received[] = [];
  const errors: Received[] = [];
  const collect = (into: Received[]) => async (m: { body: string }) => {
    into.push({ body: JSON.parse(m.body) as Body, at: Date.now() });
  };
  await transport.subscribe(config.queues.data_ready, collect(announced));
  await transport.subscribe(config.queues.postprocess_error, collect(errors));
  const logs: LogLine[] = [];
  const log = pino(
    { level: "debug" },
    { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  );
  const listeners: ArchiveListener[] = [];
  const start = async (overrides: Partial<ArchiveListenerDeps> = {}) => {
    const listener = await ArchiveListener.start({ config, database, transport, log, ...overrides });
    listeners.push(listener);
    return listener;
  };
  t.after(async () => {
    for (const l of listeners) await l.stop();
    await transport.close();
    await database.close();
    dir.cleanup();
  });
  const runPath = (run: number, experiment = "IPTS-7") =>
    join(root, "DEMO", experiment, "nexus", `DEMO_${run}.nxs.h5`);
  const byRun = (run: number) => announced.filter((m) => m.body.run_number === run);
  /** Waits until run `run` has been announced `count` times; returns those messages. */
  const announcedRun = (run: number, count = 1) =>
    waitFor(() => (byRun(run).length >= count ? byRun(run) : null), `run ${run} announced ${count}x`);
  return {
    dir: dir.path,
    root,
    config,
    database,
    transport,
    announced,
    errors,
    logs,
    start,
    runPath,
    byRun,
    announcedRun,
  };
}

async function writeRun(
  path: string,
  runNumber: number,
  extra: { experiment?: string; title?: string } = {},
) {
  await writeEventNexus(path, {
    instrument: "DEMO",
    runNumber,
    experiment: extra.experiment ?? "IPTS-7",
    title: extra.title ?? `run ${runNumber}`,
    banks: 1,
    eventsPerBank: 100,
    seed: runNumber,
    startTime: new Date("2024-05-01T10:00:00.000Z"),
    durationSeconds: 10,
  });
}

async function archiveRow(database: SqlDatabase, path: string) {
  return database.db.selectFrom("archive_files").selectAll().where("path", "=", path).executeTakeFirst();
}

function writeText(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

test("a new run file is announced once, with the SNS fields and its NeXus metadata", async (t) => {
  const h = await setup(t);
  await h.start();
  writeText(join(h.root, "DEMO", "IPTS-7", "nexus", "DEMO_1.log"), "not a run file");
  writeText(join(h.root, "OTHER", "IPTS-7", "nexus", "OTHER_1.nxs.h5"), "another instrument");
  const path = h.runPath(1);
  await writeRun(path, 1);
  const [first] = await h.announcedRun(1);
  const { size, mtimeMs } = statSync(path);
  assert.deepEqual(first?.body, {
    facility: "SNS",
    instrument: "DEMO",
    ipts: "IPTS-7",
    run_number: 1,
    data_file: path,
    started_by: "listener",
    dedupe_key: `${path}:${size}:${Math.floor(mtimeMs)}`,
    metadata: {
      run_number: 1,
      title: "run 1",
      start_time: "2024-05-01T10:00:00.000Z",
      end_time: "2024-05-01T10:00:10.000Z",
      experiment_identifier: "IPTS-7",
      instrument_name: "DEMO",
      total_events: 100,
    },
  });
  assert.ok(DataReadySchema.safeParse(first?.body).success, "the body passes the DATA_READY schema");
  await waitFor(async () => (await archiveRow(h.database, path))?.state === "announced", "run 1 recorded");
  // A later run is announced too; by then the unrelated files have long been seen and passed over.
  await writeRun(h.runPath(2), 2);
  await h.announcedRun(2);
  assert.deepEqual(
    h.announced.map((m) => m.body.run_number),
    [1, 2],
  );
  assert.equal(h.errors.length, 0);
});

test("a file that is still being written is announced only after it has stopped changing", async (t) => {
  const settleMs = 400;
  const h = await setup(t, { settle_seconds: settleMs / 1000 });
  const listener = await h.start();
  const scratch = join(h.dir, "scratch", "DEMO_3.nxs.h5");
  await writeRun(scratch, 3);
  const content = readFileSync(scratch);
  const path = h.runPath(3);
  mkdirSync(dirname(path), { recursive: true });
  const chunks = 16;
  const chunkSize = Math.ceil(content.length / chunks);
  let lastAppend = 0;
  for (let i = 0; i < chunks; i++) {
    appendFileSync(path, content.subarray(i * chunkSize, (i + 1) * chunkSize));
    lastAppend = Date.now();
    // The listener has seen the file and keeps it as incomplete while it grows (16 x 40 ms > settle).
    if (i === 0) await waitFor(() => listener.status().tracked === 1, "the growing file tracked");
    assert.equal(h.announced.length, 0, `nothing announced after ${i + 1} of ${chunks} writes`);
    await delay(40); // the writer's pace (faster than settle_seconds), not a wait for the listener
  }
  const [message] = await h.announcedRun(3);
  assert.ok(message);
  assert.ok(
    message.at - lastAppend >= settleMs - 5,
    `announced ${message.at - lastAppend} ms after the last write`,
  );
  assert.equal(message.body.dedupe_key, `${path}:${content.length}:${Math.floor(statSync(path).mtimeMs)}`);
  assert.equal((message.body.metadata as Body | undefined)?.total_events, 100, "the complete file was read");
  await waitFor(async () => (await archiveRow(h.database, path))?.state === "announced", "run 3 recorded");
  assert.deepEqual(listener.status(), { state: "running", tracked: 0, queued: 0 });
  assert.equal(h.announced.length, 1, "no announcement of a partial file");
});

test("with a completion marker a run is announced as soon as its marker exists, and not before", async (t) => {
  // A settle time far beyond the test's deadlines: only the marker can make a file complete.
  const h = await setup(t, { completion_marker: ".done", settle_seconds: 600 });
  const listener = await h.start();
  const waiting = h.runPath(10);
  await writeRun(waiting, 10);
  await waitFor(() => listener.status().tracked === 1, "run 10 seen and waiting for its marker");
  await writeRun(h.runPath(11), 11);
  writeText(`${h.runPath(11)}.done`, "");
  await h.announcedRun(11);
  assert.equal(h.byRun(10).length, 0, "run 10 has no marker yet");
  assert.equal(listener.status().tracked, 1);

  const markedAt = Date.now();
  writeText(`${waiting}.done`, "");
  const [message] = await h.announcedRun(10);
  const latencyMs = (message?.at ?? 0) - markedAt;
  t.diagnostic(`marker written -> DATA_READY received: ${latencyMs} ms`);
  // The marker, not the 600 s settle time, let it go (the delay itself is measured by the bench).
  assert.ok(latencyMs < 60_000, `announced ${latencyMs} ms after the marker`);
  assert.equal(h.announced.length, 2);
});

test("runs written while the listener was stopped are announced at start, and only once", async (t) => {
  const h = await setup(t);
  const first = await h.start();
  await first.stop();
  await writeRun(h.runPath(20), 20);
  await writeRun(h.runPath(21, "IPTS-8"), 21, { experiment: "IPTS-8" });

  const second = await h.start();
  await waitFor(() => h.announced.length === 2, "both runs announced");
  assert.deepEqual(h.announced.map((m) => m.body.run_number).sort(), [20, 21]);
  assert.equal(h.byRun(21)[0]?.body.ipts, "IPTS-8");
  await waitFor(
    async () => (await archiveRow(h.database, h.runPath(21, "IPTS-8")))?.state,
    "run 21 recorded",
  );
  await second.stop();

  const third = await h.start();
  assert.deepEqual(await third.reconcile(), { seen: 2, announced: 0, ignored: 0 });
  await writeRun(h.runPath(22), 22);
  await h.announcedRun(22);
  assert.equal(h.announced.length, 3, "runs 20 and 21 were not announced again");
});

test("a run file rewritten after its announcement is announced again", async (t) => {
  const h = await setup(t);
  await h.start();
  const path = h.runPath(25);
  await writeRun(path, 25, { title: "first try" });
  await h.announcedRun(25);
  await waitFor(async () => (await archiveRow(h.database, path))?.state, "first version recorded");
  await writeRun(path, 25, { title: "second try, longer title" });
  const both = await h.announcedRun(25, 2);
  assert.notEqual(both[0]?.body.dedupe_key, both[1]?.body.dedupe_key);
  assert.equal((both[1]?.body.metadata as Body | undefined)?.title, "second try, longer title");
});

test("a file older than the backfill window is recorded as ignored and not announced", async (t) => {
  const h = await setup(t, { backfill_hours: 24 });
  const old = h.runPath(30);
  await writeRun(old, 30);
  const twoDaysAgo = new Date(Date.now() - 48 * 3_600_000);
  utimesSync(old, twoDaysAgo, twoDaysAgo);
  await writeRun(h.runPath(31), 31);

  const listener = await h.start();
  assert.equal((await archiveRow(h.database, old))?.state, "ignored", "recorded by the walk at start");
  await h.announcedRun(31);
  assert.equal(h.byRun(30).length, 0);
  const notices = h.logs.filter((l) => l.level === INFO && /backfill window/.test(l.msg));
  assert.equal(notices.length, 1);
  assert.equal(notices[0]?.count, 1);
  await waitFor(async () => (await archiveRow(h.database, h.runPath(31)))?.state, "run 31 recorded");
  assert.deepEqual(await listener.reconcile(), { seen: 2, announced: 0, ignored: 0 });
});

test("a run without a determinable experiment goes to the error queue; the file's experiment is used if the path has none", async (t) => {
  const h = await setup(t, {}, { DEMO: { pattern: "{instrument}/raw/{instrument}_{run}.nxs" } });
  await h.start();
  const plain = join(h.root, "DEMO", "raw", "DEMO_40.nxs");
  writeText(plain, "not NeXus, so no experiment_identifier either");
  const [rejected] = await waitFor(() => (h.errors.length > 0 ? h.errors : null), "the error-queue message");
  assert.equal(rejected?.body.instrument, "DEMO");
  assert.equal(rejected?.body.run_number, 40);
  assert.equal(rejected?.body.data_file, plain);
  assert.match(String(rejected?.body.error), /no experiment .* has no \{experiment\}/);
  await waitFor(
    async () => (await archiveRow(h.database, plain))?.state === "rejected",
    "recorded as rejected",
  );

  const nexus = join(h.root, "DEMO", "raw", "DEMO_41.nxs");
  await writeRun(nexus, 41, { experiment: "IPTS-41" });
  const [message] = await h.announcedRun(41);
  assert.equal(message?.body.ipts, "IPTS-41");
  assert.equal(h.announced.length, 1, "run 40 was never announced");
  assert.equal(h.errors.length, 1);
});

test("a file whose run number differs from its path's goes to the error queue with both; an unreadable file is announced without metadata", async (t) => {
  const h = await setup(t);
  await h.start();
  const mislabelled = h.runPath(50);
  await writeRun(mislabelled, 51);
  const [rejected] = await waitFor(() => (h.errors.length > 0 ? h.errors : null), "the error-queue message");
  assert.equal(rejected?.body.data_file, mislabelled);
  assert.match(String(rejected?.body.error), /run number 50 in the path .* entry\/run_number 51 in the file/);
  assert.equal(h.byRun(50).length + h.byRun(51).length, 0, "announced under neither number");

  const broken = h.runPath(52);
  writeText(broken, "truncated by a crashed writer");
  const [bare] = await h.announcedRun(52);
  assert.equal(bare?.body.ipts, "IPTS-7");
  assert.equal(bare?.body.metadata, undefined);
  assert.ok(h.logs.some((l) => l.level === WARN && l.path === broken && /metadata/.test(l.msg)));
});

test("in polling mode new runs are found without file-system events", async (t) => {
  const h = await setup(t, { poll: true, poll_interval_ms: 50 });
  await h.start();
  await writeRun(h.runPath(60), 60);
  await h.announcedRun(60);
  await writeRun(h.runPath(61, "IPTS-9"), 61, { experiment: "IPTS-9" });
  await h.announcedRun(61);
});

test("an archive root created after start is watched from the next reconcile walk", async (t) => {
  const h = await setup(t, {}, undefined, { createRoot: false });
  const listener = await h.start();
  assert.ok(h.logs.some((l) => l.level === WARN && /do not exist/.test(l.msg)));
  mkdirSync(h.root);
  await writeRun(h.runPath(65), 65);
  assert.deepEqual(await listener.reconcile(), { seen: 1, announced: 1, ignored: 0 });
  await h.announcedRun(65);
  // From now on the watch (not a walk) finds new runs.
  await writeRun(h.runPath(66), 66);
  await h.announcedRun(66);
});

/** Delegates to a real transport; `gate` lets a test fail or hold sends to DATA_READY. */
function gatedTransport(inner: Transport, gate: (message: OutgoingMessage) => Promise<void>): Transport {
  return {
    send: async (destination, message) => {
      if (destination.includes("DATA_READY")) await gate(message);
      return inner.send(destination, message);
    },
    subscribe: (d, h, o) => inner.subscribe(d, h, o),
    depth: (d) => inner.depth(d),
    browse: (d, limit) => inner.browse(d, limit),
    take: (d, id) => inner.take(d, id),
    close: () => inner.close(),
  };
}

test("a transport failure is logged and the announcement retried", async (t) => {
  const h = await setup(t);
  let failures = 0;
  const transport = gatedTransport(h.transport, async () => {
    if (failures++ === 0) throw new Error("broker away");
  });
  await h.start({ transport });
  await writeRun(h.runPath(70), 70);
  await h.announcedRun(70);
  assert.equal(failures, 2);
  assert.ok(h.logs.some((l) => l.level === 50 && /will retry/.test(l.msg)));
  await waitFor(async () => (await archiveRow(h.database, h.runPath(70)))?.state, "run 70 recorded");
  assert.equal(h.byRun(70).length, 1);
});

test("stop waits for an announcement under way", async (t) => {
  const h = await setup(t);
  let release = () => {};
  let sending = false;
  const transport = gatedTransport(h.transport, async () => {
    sending = true;
    await new Promise<void>((resolve) => {
      release = resolve;
    });
  });
  const listener = await h.start({ transport });
  await writeRun(h.runPath(80), 80);
  await waitFor(() => sending, "the announcement under way");
  let stopped = false;
  const stopping = listener.stop().then(() => {
    stopped = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stopped, false, "stop has not returned while the send is held");
  release();
  await stopping;
  assert.equal((await archiveRow(h.database, h.runPath(80)))?.state, "announced");
});

test("backfill_hours 0: files from before the start are ignored, files written after it are announced", async (t) => {
  const h = await setup(t, { backfill_hours: 0 });
  const before = h.runPath(70);
  await writeRun(before, 70);
  const anHourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(before, anHourAgo, anHourAgo);
  await h.start();
  assert.equal((await archiveRow(h.database, before))?.state, "ignored", "recorded by the walk at start");
  const after = h.runPath(71);
  await writeRun(after, 71);
  await h.announcedRun(71);
  assert.equal(
    await waitFor(async () => (await archiveRow(h.database, after))?.state, "run 71 recorded"),
    "announced",
  );
  assert.equal(h.byRun(70).length, 0);
});

test("OSIRIS's two file forms (OSIRIS00108538.nxs, OSI98933.nxs) are announced with their whole run numbers and the file's RB", async (t) => {
  const data = "NDX{instrument}/Instrument/data/{cycle}";
  const h = await setup(
    t,
    {},
    {
      OSIRIS: {
        convention: "isis",
        facility: "ISIS",
        pattern: [`${data}/{instrument}{run}.nxs`, `${data}/{prefix}{run}.nxs`],
        prefix: "OSI",
      },
    },
  );
  await h.start();
  const osiris = (cycle: string, name: string) =>
    join(h.root, "NDXOSIRIS", "Instrument", "data", cycle, name);
  const runs = [
    { path: osiris("cycle_14_1", "OSIRIS00108538.nxs"), runNumber: 108538, experiment: "1410511" },
    { path: osiris("cycle_14_1", "OSIRIS00108539.nxs"), runNumber: 108539, experiment: "1410511" },
    { path: osiris("cycle_12_2", "OSI98933.nxs"), runNumber: 98933, experiment: "12345" },
  ];
  for (const r of runs) {
    await writeIsisNexus(r.path, {
      instrument: "OSIRIS",
      runNumber: r.runNumber,
      experiment: r.experiment,
      title: "H2O 002_off QENS Cyl",
      startTime: "2014-05-18T02:50:47",
      endTime: "2014-05-18T04:55:39",
      rawFrames: 1,
      goodFrames: 1,
      users: "x",
    });
  }
  for (const r of runs) {
    const [message] = await h.announcedRun(r.runNumber);
    assert.equal(message?.body.data_file, r.path);
    assert.equal(message?.body.ipts, r.experiment);
    assert.equal(message?.body.facility, "ISIS");
  }
  assert.equal(h.announced.length, 3, h.announced.map((m) => m.body.run_number).join(", "));
  assert.equal(h.errors.length, 0);
});
