#!/usr/bin/env node
// The real servers the tests talk to: ActiveMQ (STOMP), RabbitMQ's STOMP plugin, PostgreSQL,
// a private OpenLDAP slapd (AUTOREDUCE_TEST_LDAP) for the LDAP sign-in tests; and headless
// Chromium for the browser tests (installed when missing; see chromium.ts).
// Usage: node --import tsx scripts/services/cli.ts start|stop|status [--owner PID]
//   start   installs what is missing (apt-get, as root), starts what is not running, and prints
//           (or writes to FILE) the AUTOREDUCE_TEST_* variables the tests read;
//   stop    stops what `start` started (a service that was already running is left alone), once
//           no other test run that called `start --owner PID` is still alive;
//   status  says what runs where.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { ActiveMQ } from "./activemq.ts";
import { CHROMIUM_ENV, chromiumForTests } from "./chromium.ts";
import { ensurePostgres } from "./postgres-server.ts";
import { freePort, isAlive, portOpen } from "./process-tools.ts";
import { ensureRabbitStomp, stopRabbitNode } from "./rabbitmq.ts";
import { SHARED_ACTIVEMQ_DIR, SHARED_STATE_FILE, type SharedState } from "./shared.ts";
import { ensureSlapd, SHARED_SLAPD_DIR, Slapd, stopSlapd } from "./slapd.ts";

const RABBIT_STOMP_PORT = 61614;

async function start(owner: number | null): Promise<void> {
  const began = Date.now();
  const state: SharedState = existsSync(SHARED_STATE_FILE)
    ? (JSON.parse(readFileSync(SHARED_STATE_FILE, "utf8")) as SharedState)
    : { started: [], owners: [] };
  if (owner !== null) state.owners = [...(state.owners ?? []), owner];
  const previous = state.activemqPort ? new ActiveMQ(SHARED_ACTIVEMQ_DIR, state.activemqPort) : null;
  let amq = previous?.pid() ? previous : null;
  if (!amq) {
    rmSync(SHARED_ACTIVEMQ_DIR, { recursive: true, force: true }); // a clean broker for each run
    const port = (await portOpen(61613)) ? await freePort() : 61613;
    amq = new ActiveMQ(SHARED_ACTIVEMQ_DIR, port);
    await amq.start();
    state.activemqPort = port;
    state.started.push("activemq");
  }
  const rabbit = await ensureRabbitStomp(RABBIT_STOMP_PORT);
  if (rabbit.startedNode) state.started.push("rabbitmq");
  const pg = await ensurePostgres();
  if (pg.started) state.started.push("postgresql");
  const ldap = await ensureSlapd(); // a private slapd for the LDAP sign-in tests
  const chromium = chromiumForTests(); // a program, not a server: nothing to stop
  writeFileSync(SHARED_STATE_FILE, JSON.stringify(state));
  const env = [
    `AUTOREDUCE_TEST_ACTIVEMQ=${amq.url}`,
    `AUTOREDUCE_TEST_RABBITMQ=${rabbit.url}`,
    `AUTOREDUCE_TEST_POSTGRES=${pg.url}`,
    ...(ldap ? [`AUTOREDUCE_TEST_LDAP=${ldap.url}`] : []),
    ...(chromium ? [`${CHROMIUM_ENV}=${chromium}`] : []),
  ].join("\n");
  console.log(env);
  console.error(
    `services: ActiveMQ ${amq.url}, RabbitMQ STOMP ${rabbit.url}, PostgreSQL ${pg.url}, LDAP ${ldap?.url ?? "none"} (ready in ${((Date.now() - began) / 1000).toFixed(1)} s)`,
  );
}

async function stop(owner: number | null): Promise<void> {
  if (!existsSync(SHARED_STATE_FILE)) return;
  const state = JSON.parse(readFileSync(SHARED_STATE_FILE, "utf8")) as SharedState;
  // Another test run still uses the servers: leave them to the last one.
  const others = (state.owners ?? []).filter((pid) => pid !== owner && isAlive(pid));
  if (others.length > 0) {
    writeFileSync(SHARED_STATE_FILE, JSON.stringify({ ...state, owners: others }));
    return;
  }
  if (state.started.includes("activemq") && state.activemqPort) {
    await new ActiveMQ(SHARED_ACTIVEMQ_DIR, state.activemqPort).stop();
  }
  if (state.started.includes("rabbitmq")) stopRabbitNode();
  await stopSlapd(); // our private instance only, even if an earlier run started it
  // PostgreSQL is left running even if we started it: other projects on the machine may use it.
  rmSync(SHARED_STATE_FILE, { force: true });
}

async function status(): Promise<void> {
  const state: SharedState = existsSync(SHARED_STATE_FILE)
    ? (JSON.parse(readFileSync(SHARED_STATE_FILE, "utf8")) as SharedState)
    : { started: [], owners: [] };
  const amq = state.activemqPort ? new ActiveMQ(SHARED_ACTIVEMQ_DIR, state.activemqPort) : null;
  console.log(`ActiveMQ: ${amq?.pid() ? `${amq.url} (pid ${amq.pid()})` : "not running"}`);
  console.log(
    `RabbitMQ STOMP: ${(await portOpen(RABBIT_STOMP_PORT)) ? `port ${RABBIT_STOMP_PORT}` : "not listening"}`,
  );
  console.log(`PostgreSQL: ${(await portOpen(5432)) ? "port 5432" : "not listening"}`);
  const ldap = Slapd.running(SHARED_SLAPD_DIR);
  console.log(`LDAP (slapd): ${ldap ? `${ldap.url} (pid ${ldap.pid()})` : "not running"}`);
}

const [command, flag, value] = process.argv.slice(2);
const owner = flag === "--owner" && Number.isInteger(Number(value)) ? Number(value) : null;
const help = "usage: services start [--owner PID] | stop [--owner PID] | status";
try {
  if (command === "start") await start(owner);
  else if (command === "stop") await stop(owner);
  else if (command === "status") await status();
  else {
    console.log(help);
    process.exit(command === "--help" || command === "-h" ? 0 : 2);
  }
} catch (e) {
  console.error(`services: ${command} failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
