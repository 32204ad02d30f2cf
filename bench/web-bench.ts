import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import pg from "pg";
import { stringify } from "yaml";
import { configFromObject } from "../src/config/load-config.ts";
import { silentLogger } from "../src/logging/logger.ts";
import type { JobStatus } from "../src/messages/job-status.ts";
import { ChangePublisher } from "../src/service/change-publisher.ts";
import { openStateDatabase, type SqlDatabase } from "../src/store/state-database.ts";
import { createToken } from "../src/store/token-store.ts";
import { openTransport } from "../src/transport/open-transport.ts";
import { ensurePostgres } from "../test/helpers/postgres.ts";
import { tempDir } from "../test/helpers/temp-dir.ts";
import { summarize } from "./stats.ts";

/**
 * The web application on a facility's worth of runs (`npm run bench -- --only web`): 1,000,000
 * runs over 30 instruments (about 5,000 experiments, 3 % re-run once, one event per version),
 * seeded once by multi-row INSERTs and cached (SQLite: a file under the OS temp folder;
 * PostgreSQL: a database of its own on the test server), then `autoreduce web` is started as
 * its own process on it and timed over loopback HTTP: the runs index (first page, filtered,
 * searched, deep in history), the run's API and page, its resident memory, and 1,000 live
 * clients receiving a change published on the change feed.
 */

export type WebBackend = "SQLite" | "PostgreSQL";

export interface RequestFigure {
  what: string;
  median: number;
  p95: number;
  n: number;
  /** p95 target in ms; null: reported only. */
  target: number | null;
}

export interface WebFigure {
  backend: WebBackend;
  runs: number;
  seed: { seconds: number; reused: boolean };
  requests: RequestFigure[];
  /** Resident memory of the web process at rest after its start, after the requests, and with the live clients. */
  rssBytes: { atStart: number; afterRequests: number; withClients: number };
  sse: {
    clients: number;
    events: number;
    /** Publish → each client has the event, ms. */
    perClient: ReturnType<typeof summarize>;
    /** Publish → the last of the clients has it, per event, ms. */
    allClients: ReturnType<typeof summarize>;
  };
  load: { before: number; after: number };
}

/** Bump when the seeded data changes: older caches are then seeded again. */
const SEED_VERSION = "web-v1";
const INSTRUMENTS = [
  "ARCS",
  "BASIS",
  "BIOSANS",
  "CNCS",
  "CORELLI",
  "EQSANS",
  "GPSANS",
  "HB2A",
  "HYSPEC",
  "MANDI",
  "NOMAD",
  "POWGEN",
  "REF_L",
  "REF_M",
  "SEQUOIA",
  "SNAP",
  "TOPAZ",
  "USANS",
  "VENUS",
  "VULCAN",
  "GEM",
  "HRPD",
  "IRIS",
  "LET",
  "MAPS",
  "MARI",
  "MERLIN",
  "OSIRIS",
  "POLARIS",
  "WISH",
];
const SAMPLES = [
  "LaFeAsO",
  "Fe3O4",
  "MnSi",
  "Cu2OSeO3",
  "YBCO",
  "Ho2Ti2O7",
  "Yb2Ti2O7",
  "CeRhIn5",
  "Si",
  "D2O",
];
const HOSTS = ["node01", "node02", "node03", "node04", "node05", "node06", "node07", "node08"];
const RUNS_PER_EXPERIMENT = 200;
const FIVE_YEARS_MS = 5 * 365 * 86_400_000;
const SAMPLES_PER_MEASURE = 60;
const WARMUP = 5;
const SSE_CLIENTS = 1000;
const SSE_EVENTS = 10;

/** Deterministic pseudo-random numbers (mulberry32): the same database every time. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** What the bench's requests need to know about the seeded runs. */
interface SeedFacts {
  /** Per instrument: its first and last run numbers. */
  runRanges: Record<string, [number, number]>;
  /** A few experiments with their sample name (a title word found in one experiment only). */
  samples: Array<{ instrument: string; experiment: string; word: string }>;
}

const say = (text: string) => process.stderr.write(`bench: ${text}\n`);

export async function webBench(backend: WebBackend, runs = 1_000_000): Promise<WebFigure> {
  const load = { before: loadavg()[0] ?? 0, after: 0 };
  const seeded = await seededDatabase(backend, runs);
  const dir = tempDir();
  let child: ChildProcess | null = null;
  try {
    const database = await openStateDatabase(seeded.url);
    const stamp = Date.now();
    const adminToken = (await createToken(database, { name: `bench-admin-${stamp}`, role: "admin" })).token;
    const scientistToken = (
      await createToken(database, { name: `bench-mari-${stamp}`, role: "scientist", instruments: ["MARI"] })
    ).token;
    await database.close();
    const port = await freePort();
    const configFile = join(dir.path, "autoreduce.yaml");
    const raw = {
      data_dir: dir.path,
      database: { url: seeded.url },
      api: { host: "127.0.0.1", port },
      log_level: "warn" as const,
    };
    writeFileSync(configFile, stringify(raw));
    child = spawn(
      process.execPath,
      [join(import.meta.dirname, "..", "bin", "autoreduce.js"), "web", "--config", configFile],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    const url = `http://127.0.0.1:${port}`;
    const web = child;
    await until(async () => {
      if (web.exitCode !== null) throw new Error(`autoreduce web exited: ${stderr}`);
      return (await fetch(`${url}/healthz`).catch(() => null))?.ok ?? false;
    }, "the web process to answer");
    const pid = web.pid ?? 0;
    const atStart = rss(pid);
    const requests = await timeRequests(url, adminToken, scientistToken, seeded.facts);
    const afterRequests = rss(pid);
    say(`${backend}: ${SSE_CLIENTS} live clients`);
    const config = configFromObject(raw, configFile, {});
    const sse = await liveClients(url, adminToken, config, seeded.facts);
    const withClients = sse.rss(pid);
    load.after = loadavg()[0] ?? 0;
    return {
      backend,
      runs,
      seed: { seconds: seeded.seconds, reused: seeded.reused },
      requests,
      rssBytes: { atStart, afterRequests, withClients },
      sse: sse.figure,
      load,
    };
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    dir.cleanup();
  }
}

// ---- seeding -------------------------------------------------------------------------------

/** The cached database for `runs` runs (seeded now if it is missing or of another seed version). */
async function seededDatabase(
  backend: WebBackend,
  runs: number,
): Promise<{ url: string; facts: SeedFacts; seconds: number; reused: boolean }> {
  const marker = `${SEED_VERSION} runs=${runs}`;
  const cacheDir = process.env.AUTOREDUCE_BENCH_CACHE ?? join(tmpdir(), "autoreduce-bench");
  mkdirSync(cacheDir, { recursive: true });
  const factsFile = join(cacheDir, `${SEED_VERSION}-${backend}-${runs}.json`);
  const cached = () => JSON.parse(readFileSync(factsFile, "utf8")) as SeedFacts;
  let url: string;
  let seedUrl: string;
  /** Makes the seeded database the cached one (SQLite: renamed into place once complete). */
  let keep = () => {};
  if (backend === "SQLite") {
    const file = join(cacheDir, `${SEED_VERSION}-${runs}.sqlite`);
    url = `sqlite:${file}`;
    if (existsSync(file) && existsSync(factsFile)) return { url, facts: cached(), seconds: 0, reused: true };
    const partial = `${file}.seeding`;
    for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
    seedUrl = `sqlite:${partial}`;
    keep = () => renameSync(partial, file);
  } else {
    await ensurePostgres();
    const host = process.env.PGHOST ?? "127.0.0.1";
    const port = Number(process.env.PGPORT ?? 5432);
    const user = process.env.PGUSER ?? "postgres";
    const name = `autoreduce_bench_${SEED_VERSION.replace(/\W/g, "_")}_${runs}`;
    url = `postgres://${user}@${host}:${port}/${name}`;
    seedUrl = url;
    const admin = new pg.Client({ connectionString: `postgres://${user}@${host}:${port}/postgres` });
    await admin.connect();
    try {
      const exists =
        (await admin.query("select 1 from pg_database where datname = $1", [name])).rowCount === 1;
      if (exists && existsSync(factsFile) && (await seedMarker(url)) === marker)
        return { url, facts: cached(), seconds: 0, reused: true };
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.query(`create database ${name}`);
    } finally {
      await admin.end();
    }
  }
  say(`${backend}: seeding ${runs} runs (cached afterwards in ${cacheDir})`);
  const started = performance.now();
  const database = await openStateDatabase(seedUrl);
  let facts: SeedFacts;
  try {
    facts = await seed(database, runs);
    await database.db
      .insertInto("site_settings")
      .values({ key: "bench_seed", value: marker, updated_by: "bench", updated_at: Date.now() })
      .execute();
  } finally {
    await database.close();
  }
  const seconds = (performance.now() - started) / 1000;
  say(`${backend}: seeded in ${seconds.toFixed(0)} s`);
  keep();
  writeFileSync(factsFile, JSON.stringify(facts));
  return { url, facts, seconds, reused: false };
}

async function seedMarker(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query("select value from site_settings where key = 'bench_seed'");
    return (rows[0] as { value: string } | undefined)?.value ?? null;
  } catch {
    return null;
  } finally {
    await client.end();
  }
}

/**
 * Writes the runs, their versions and events with multi-row INSERTs, 20,000 runs per
 * transaction, ids given (so rows refer to each other without reading back). The denormalised
 * latest version is written with the run, as the store's transactions keep it. PostgreSQL's
 * trigram index is built after the load (as one would for a bulk import); SQLite's FTS table is
 * kept by its triggers as in production.
 */
async function seed(database: SqlDatabase, runs: number): Promise<SeedFacts> {
  const { db } = database;
  const next = random(42);
  const now = Date.now();
  const t0 = now - FIVE_YEARS_MS;
  const step = FIVE_YEARS_MS / runs;
  const trigram =
    database.dialect === "postgres" &&
    (
      await sql<{
        n: number;
      }>`select count(*)::int as n from pg_indexes where indexname = 'runs_title_trigram'`.execute(db)
    ).rows[0]?.n === 1;
  if (trigram) await sql`drop index runs_title_trigram`.execute(db);

  await db
    .insertInto("instruments")
    .values(
      INSTRUMENTS.map((name, i) => ({ id: i + 1, name, facility: i < 20 ? "SNS" : "ISIS", created_at: t0 })),
    )
    .execute();
  const counters = INSTRUMENTS.map((_, i) => ({
    run: 10_000 * (i + 1),
    first: 10_000 * (i + 1),
    inExperiment: 0,
    experiment: 0,
  }));
  const facts: SeedFacts = { runRanges: {}, samples: [] };
  let experiments = 0;
  let jobId = 0;
  const batch = 20_000;
  for (let start = 0; start < runs; start += batch) {
    const runRows: Record<string, unknown>[] = [];
    const jobRows: Record<string, unknown>[] = [];
    const experimentRows: Record<string, unknown>[] = [];
    for (let i = start; i < Math.min(runs, start + batch); i++) {
      const id = i + 1;
      const instrument = Math.floor(next() * INSTRUMENTS.length);
      const counter = counters[instrument] ?? { run: 0, first: 0, inExperiment: 0, experiment: 0 };
      const created = Math.round(t0 + i * step);
      if (counter.experiment === 0 || counter.inExperiment >= RUNS_PER_EXPERIMENT) {
        experiments += 1;
        counter.experiment = experiments;
        counter.inExperiment = 0;
        experimentRows.push({
          id: experiments,
          reference: `IPTS-${10_000 + experiments}`,
          created_at: created,
        });
        if (experiments % 500 === 0)
          facts.samples.push({
            instrument: INSTRUMENTS[instrument] ?? "",
            experiment: `IPTS-${10_000 + experiments}`,
            word: sampleOf(experiments),
          });
      }
      counter.inExperiment += 1;
      const runNumber = counter.run++;
      const r = next();
      const title =
        r < 0.06
          ? `Vanadium calibration ${runNumber % 7}`
          : r < 0.1
            ? "Empty can"
            : `${sampleOf(counter.experiment)} T=${5 + Math.floor(next() * 300)}K`;
      const reruns = next() < 0.03 ? 1 : 0;
      const recent = runs - i <= 20;
      let latest: { id: number; version: number; status: JobStatus } | null = null;
      for (let version = 0; version <= reruns; version++) {
        jobId += 1;
        const status = recent && version === reruns ? (i % 2 === 0 ? "queued" : "running") : settled(next());
        const startedAt = status === "queued" ? null : created + 1000 + version * 3_600_000;
        const finishedAt =
          startedAt === null || status === "running" ? null : startedAt + 5000 + Math.floor(next() * 600_000);
        jobRows.push({
          id: jobId,
          kind: "reduction",
          run_id: id,
          version,
          job_id: `bench-${jobId}`,
          status,
          reason: version === 0 ? "automatic" : "rerun",
          started_by: version === 0 ? null : "scientist",
          output_dir: `/SNS/${INSTRUMENTS[instrument]}/IPTS-${10_000 + counter.experiment}/shared/autoreduce`,
          output_files: "[]",
          log_file: `/SNS/${INSTRUMENTS[instrument]}/reduction_log/${runNumber}.log`,
          host: startedAt === null ? null : HOSTS[jobId % HOSTS.length],
          attempts: startedAt === null ? 0 : 1,
          exit_code: status === "error" ? 1 : finishedAt === null ? null : 0,
          created_at: created + version * 3_600_000,
          dispatched_at: created + 5 + version * 3_600_000,
          started_at: startedAt,
          finished_at: finishedAt,
          updated_at: finishedAt ?? startedAt ?? created,
          script_path: `/SNS/${INSTRUMENTS[instrument]}/shared/autoreduce/reduce_${INSTRUMENTS[instrument]}.py`,
          script_hash: "0".repeat(64),
          interpreter: "python3",
          convention: "sns",
          queue: "REDUCTION.DATA_READY",
        });
        latest = { id: jobId, version, status };
      }
      runRows.push({
        id,
        instrument_id: instrument + 1,
        experiment_id: counter.experiment,
        run_number: runNumber,
        data_file: `/SNS/${INSTRUMENTS[instrument]}/IPTS-${10_000 + counter.experiment}/nexus/${INSTRUMENTS[instrument]}_${runNumber}.nxs.h5`,
        title,
        metadata: "{}",
        created_at: created,
        updated_at: created,
        latest_job_id: latest?.id ?? null,
        latest_version: latest?.version ?? null,
        latest_status: latest?.status ?? null,
      });
    }
    await database.transaction(async (trx) => {
      const t = trx as unknown as typeof db;
      for (const rows of chunks(experimentRows, 1000))
        await t
          .insertInto("experiments")
          .values(rows as never)
          .execute();
      for (const rows of chunks(runRows, 1000))
        await t
          .insertInto("runs")
          .values(rows as never)
          .execute();
      for (const rows of chunks(jobRows, 1000))
        await t
          .insertInto("jobs")
          .values(rows as never)
          .execute();
      const events = jobRows.map((j) => ({
        run_id: j.run_id,
        job_row_id: j.id,
        destination: "/queue/POSTPROCESS.DATA_READY",
        message_id: `bench-m-${j.id}`,
        body: "{}",
        created_at: j.created_at,
      }));
      for (const rows of chunks(events, 1000))
        await t
          .insertInto("job_events")
          .values(rows as never)
          .execute();
    });
    if ((start / batch) % 10 === 9) say(`  ${start + batch} runs`);
  }
  INSTRUMENTS.forEach((name, i) => {
    const c = counters[i];
    if (c) facts.runRanges[name] = [c.first, c.run - 1];
  });
  if (database.dialect === "postgres") {
    for (const table of ["instruments", "experiments", "runs", "jobs", "job_events"])
      await sql`select setval(pg_get_serial_sequence(${table}, 'id'), (select max(id) from ${sql.table(table)}))`.execute(
        db,
      );
    if (trigram)
      await sql`create index runs_title_trigram on runs using gin (title gin_trgm_ops)`.execute(db);
    await sql`analyze`.execute(db);
  }
  return facts;
}

function sampleOf(experiment: number): string {
  return `${SAMPLES[experiment % SAMPLES.length]}-${experiment}`;
}

/** A settled version's status: mostly completed, some errors, a few of the rest. */
function settled(r: number): JobStatus {
  if (r < 0.89) return "completed";
  if (r < 0.96) return "error";
  if (r < 0.98) return "skipped";
  if (r < 0.99) return "cancelled";
  return "disabled";
}

function chunks<T>(rows: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

// ---- requests ------------------------------------------------------------------------------

/** Median and p95 of each request kind: SAMPLES_PER_MEASURE requests, one at a time, after a warm-up. */
async function timeRequests(
  url: string,
  adminToken: string,
  scientistToken: string,
  facts: SeedFacts,
): Promise<RequestFigure[]> {
  const pick = random(7);
  const instrument = () => INSTRUMENTS[Math.floor(pick() * INSTRUMENTS.length)] ?? "MARI";
  const runOf = (name: string) => {
    const [first, last] = facts.runRanges[name] ?? [0, 0];
    return first + Math.floor(pick() * (last - first + 1));
  };
  const sample = () =>
    facts.samples[Math.floor(pick() * facts.samples.length)] ?? {
      word: "x",
      instrument: "MARI",
      experiment: "",
    };
  const deepCursor = () =>
    Buffer.from(JSON.stringify(["newest", 1 + Math.floor(pick() * 100_000)])).toString("base64url");
  const measures: Array<{ what: string; target: number | null; token?: string; path: () => string }> = [
    { what: "runs index, first page (admin)", target: 100, path: () => "/" },
    {
      what: "runs index, first page (scientist of one instrument)",
      target: 100,
      token: scientistToken,
      path: () => "/",
    },
    {
      what: "filtered: instrument + status `error`",
      target: 100,
      path: () => `/?instrument=${instrument()}&status=error`,
    },
    { what: "filtered: experiment", target: 100, path: () => `/?experiment=${sample().experiment}` },
    { what: "searched: title, a common word (`vanadium`)", target: 100, path: () => "/?title=vanadium" },
    {
      what: "searched: title, one experiment's sample (~200 of 1M)",
      target: 100,
      path: () => `/?title=${sample().word}`,
    },
    {
      what: "searched: run range of an instrument (51 runs)",
      target: 100,
      path: () => {
        const name = instrument();
        const first = runOf(name);
        return `/?instrument=${name}&runs=${first}-${first + 50}`;
      },
    },
    {
      what: "searched: run range, all instruments",
      target: 100,
      path: () => {
        const first = runOf(instrument());
        return `/?runs=${first}-${first + 20}`;
      },
    },
    {
      what: "runs index, a page deep in history (keyset)",
      target: 100,
      path: () => `/?after=${deepCursor()}`,
    },
    { what: "runs index, sorted by run number", target: null, path: () => "/?sort=run-desc" },
    {
      what: "filtered: one day, a year ago",
      target: null,
      path: () => `/?from=${dayAgo(365)}&to=${dayAgo(365)}`,
    },
    {
      what: "run API `GET /api/v1/runs/<INST>/<RUN>`",
      target: 50,
      path: () => {
        const name = instrument();
        return `/api/v1/runs/${name}/${runOf(name)}`;
      },
    },
    { what: "runs API `GET /api/v1/runs?limit=50`", target: null, path: () => "/api/v1/runs?limit=50" },
  ];
  const runPage = await fetch(`${url}/runs/MARI/${runOf("MARI")}`, { headers: auth(adminToken) });
  const hasRunPage = runPage.status === 200;
  await runPage.text();
  if (hasRunPage)
    measures.push({
      what: "run page `/runs/<INST>/<RUN>`",
      target: 50,
      path: () => {
        const name = instrument();
        return `/runs/${name}/${runOf(name)}`;
      },
    });
  else say("no run page yet (/runs/<INST>/<RUN> is not 200): measured through the API only");
  const figures: RequestFigure[] = [];
  for (const m of measures) {
    const times: number[] = [];
    for (let i = 0; i < WARMUP + SAMPLES_PER_MEASURE; i++) {
      const path = m.path();
      const t = performance.now();
      const response = await fetch(`${url}${path}`, { headers: auth(m.token ?? adminToken) });
      await response.text();
      const elapsed = performance.now() - t;
      if (response.status !== 200) throw new Error(`bench: ${path} answered ${response.status}`);
      if (i >= WARMUP) times.push(elapsed);
    }
    const s = summarize(times);
    say(`  ${m.what}: median ${s.median.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms`);
    figures.push({ what: m.what, ...s, target: m.target });
  }
  return figures;
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const dayAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);

// ---- live clients --------------------------------------------------------------------------

/**
 * SSE_CLIENTS streams on `/api/v1/events` (raw HTTP, as an admin token holder), then
 * SSE_EVENTS job changes published one at a time through the change feed, each once every client
 * has the one before: the delay from `publish` to each client, and to the last client.
 */
async function liveClients(
  url: string,
  token: string,
  config: ReturnType<typeof configFromObject>,
  facts: SeedFacts,
) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const arrivals = new Map<number, number[]>();
  const requests: http.ClientRequest[] = [];
  let connected = 0;
  const open = () =>
    new Promise<void>((resolve, reject) => {
      const request = http.get(
        `${url}/api/v1/events`,
        { agent, headers: { ...auth(token), accept: "text/event-stream" } },
        (response) => {
          if (response.statusCode !== 200) return reject(new Error(`events answered ${response.statusCode}`));
          response.setEncoding("utf8");
          let buffer = "";
          response.on("data", (chunk: string) => {
            const at = performance.now();
            if (buffer === "" && chunk.startsWith("retry:")) {
              connected += 1;
              resolve();
            }
            buffer += chunk;
            let end = buffer.indexOf("\n\n");
            while (end >= 0) {
              const message = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const data = /^event: job\ndata: (.*)$/m.exec(message)?.[1];
              if (data) {
                const seq = (JSON.parse(data) as { seq: number }).seq;
                const list = arrivals.get(seq) ?? [];
                list.push(at);
                arrivals.set(seq, list);
              }
              end = buffer.indexOf("\n\n");
            }
          });
        },
      );
      request.on("error", reject);
      requests.push(request);
    });
  for (let i = 0; i < SSE_CLIENTS; i += 100) await Promise.all(Array.from({ length: 100 }, open));
  if (connected !== SSE_CLIENTS) throw new Error(`only ${connected} live clients connected`);
  const { transport, close } = await openTransport(config, silentLogger());
  const publisher = new ChangePublisher(transport, config, silentLogger());
  const perClient: number[] = [];
  const allClients: number[] = [];
  const [first] = facts.runRanges.MARI ?? [0, 0];
  try {
    for (let e = 0; e < SSE_EVENTS + 1; e++) {
      const t = performance.now();
      void publisher.publish({
        subject: "job",
        kind: "reduction",
        job_id: `bench-live-${e}`,
        status: e % 2 === 0 ? "running" : "completed",
        previous_status: "queued",
        message: null,
        updated_at: Date.now(),
        instrument: "MARI",
        run_number: first,
        version: 0,
      });
      const seq = e + 1;
      await until(() => (arrivals.get(seq)?.length ?? 0) >= SSE_CLIENTS, `event ${seq} at every client`);
      // The first event warms the web process's look-up of the run's experiment: not counted.
      if (e === 0) continue;
      const times = (arrivals.get(seq) ?? []).map((at) => at - t);
      perClient.push(...times);
      allClients.push(Math.max(...times));
    }
    await publisher.flush();
    return {
      figure: {
        clients: SSE_CLIENTS,
        events: SSE_EVENTS,
        perClient: summarize(perClient),
        allClients: summarize(allClients),
      },
      rss,
    };
  } finally {
    for (const request of requests) request.destroy();
    agent.destroy();
    await close();
  }
}

// ---- helpers -------------------------------------------------------------------------------

/** Resident memory of a process, from /proc (bytes). */
function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb ?? 0) * 1024;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The bench's table rows (bench/run.ts prints them with the others). */
export function webRows(f: WebFigure): string[] {
  const name = f.backend === "SQLite" ? "SQLite (default)" : f.backend;
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const ratio = (p95: number, target: number | null) =>
    target === null ? "" : `**${((100 * p95) / target).toFixed(0)} %** of target`;
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  return [
    ...f.requests.map(
      (r) =>
        `| ${name} | web, ${f.runs.toLocaleString("en")} runs: ${r.what} | ${ms(r.median)} | ${ms(r.p95)} | ${ratio(r.p95, r.target)} | ${r.target === null ? "(reported)" : `p95 < ${r.target} ms`} |`,
    ),
    `| ${name} | web process resident memory: at start, after the requests / with ${f.sse.clients} live clients | ${mb(f.rssBytes.atStart)}, ${mb(f.rssBytes.afterRequests)} | ${mb(f.rssBytes.withClients)} | **${((100 * f.rssBytes.withClients) / 150e6).toFixed(0)} %** of target | < 150 MB |`,
    `| ${name} | live: change published → each of ${f.sse.clients} SSE clients (${f.sse.events} events) | ${ms(f.sse.perClient.median)} | ${ms(f.sse.perClient.p95)} | **${((100 * f.sse.perClient.p95) / 500).toFixed(0)} %** of target | p95 < 500 ms |`,
    `| ${name} | live: change published → the last of the ${f.sse.clients} clients | ${ms(f.sse.allClients.median)} | ${ms(f.sse.allClients.p95)} | | (reported) |`,
  ];
}
