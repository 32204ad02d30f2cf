import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ActiveMQ } from "../../scripts/services/activemq.ts";
import { PrivateCluster } from "../../scripts/services/postgres.ts";
import { freePort } from "../../scripts/services/process-tools.ts";

const CLI = join(import.meta.dirname, "..", "..", "scripts", "services", "cli.ts");

let started: Record<string, string> | null = null;

/**
 * The run's shared servers. `npm test` starts them once (scripts/run-tests.mjs) and passes their
 * addresses in AUTOREDUCE_TEST_*; a test file run on its own starts them here (and leaves them
 * running for the next). There is no skip: a server that cannot be had fails the test.
 */
function shared(name: "ACTIVEMQ" | "RABBITMQ"): string {
  const key = `AUTOREDUCE_TEST_${name}`;
  const fromEnv = process.env[key];
  if (fromEnv) return fromEnv;
  started ??= Object.fromEntries(
    execFileSync(process.execPath, ["--import", "tsx", CLI, "start"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((line) => line.split("=", 2) as [string, string]),
  );
  const url = started[key];
  if (!url) throw new Error(`the services script did not report ${key}`);
  return url;
}

/** STOMP address of the shared ActiveMQ (scheduler and statistics plugin on). */
export const sharedActiveMQ = (): string => shared("ACTIVEMQ");
/** STOMP address of the shared RabbitMQ's STOMP plugin. */
export const sharedRabbitMQ = (): string => shared("RABBITMQ");

/** An ActiveMQ of the test's own, in `dir`, on a free port: the test may kill and restart it. */
export async function privateActiveMQ(dir: string): Promise<ActiveMQ> {
  const broker = new ActiveMQ(join(dir, "activemq"), await freePort());
  await broker.start();
  return broker;
}

/**
 * A PostgreSQL cluster of the test's own on a free port: the test may restart it. It lives in a
 * folder of its own that the postgres user can reach (a test's scratch folder is root's, 0700);
 * `remove()` stops it and deletes the folder.
 */
export async function privatePostgres(): Promise<PrivateCluster> {
  const cluster = new PrivateCluster(mkdtempSync(join(tmpdir(), "autoreduce-pg-")), await freePort());
  await cluster.start();
  return cluster;
}

/**
 * Every destination under a name of its own (`/queue/T<tag>.…`), for a deployment on a shared
 * broker: other tests' messages and heartbeats never mix in.
 */
export function isolatedQueues(tag: string): Record<string, string> {
  const q = (kind: "queue" | "topic", name: string) => `/${kind}/T${tag}.${name}`;
  return {
    data_ready: q("queue", "DATA_READY"),
    postprocess_error: q("queue", "ERROR"),
    reduction_data_ready: q("queue", "REDUCTION.DATA_READY"),
    reduction_started: q("queue", "REDUCTION.STARTED"),
    reduction_complete: q("queue", "REDUCTION.COMPLETE"),
    reduction_error: q("queue", "REDUCTION.ERROR"),
    reduction_disabled: q("queue", "REDUCTION.DISABLED"),
    reduction_retrying: q("queue", "REDUCTION.RETRYING"),
    reduction_request: q("queue", "REDUCTION.REQUEST"),
    create_script: q("queue", "CREATE_SCRIPT"),
    heartbeat: q("topic", "HEARTBEAT"),
    heartbeat_ping: q("topic", "PING"),
    service_status: q("topic", "{instrument}.STATUS"),
    cancel: q("topic", "CANCEL"),
    changes: q("topic", "CHANGES"),
  };
}
