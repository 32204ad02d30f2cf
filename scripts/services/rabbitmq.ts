import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { aptInstall, portOpen } from "./process-tools.ts";

const CONF = "/etc/rabbitmq/rabbitmq.conf";

function ctl(args: string[]): string {
  return execFileSync("rabbitmqctl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function nodeRunning(): boolean {
  try {
    ctl(["status"]);
    return true;
  } catch {
    return false;
  }
}

/**
 * RabbitMQ with its STOMP plugin on `port` (not 61613, which ActiveMQ uses). Uses the machine's
 * RabbitMQ node, starting it if it is down, and enables the plugin on the running node. The port
 * is also written to rabbitmq.conf so that a restarted node keeps it. Returns whether the node was
 * started here (so the caller can stop only what it started).
 */
export async function ensureRabbitStomp(port: number): Promise<{ url: string; startedNode: boolean }> {
  const url = `stomp://127.0.0.1:${port}`;
  if (await portOpen(port)) return { url, startedNode: false };
  if (!existsSync("/usr/sbin/rabbitmq-server")) aptInstall(["rabbitmq-server"]);
  const line = `stomp.listeners.tcp.1 = 127.0.0.1:${port}`;
  const conf = existsSync(CONF) ? readFileSync(CONF, "utf8") : "";
  if (!conf.includes(line))
    appendFileSync(CONF, `${conf === "" || conf.endsWith("\n") ? "" : "\n"}${line}\n`);
  let startedNode = false;
  if (!nodeRunning()) {
    console.error("services: starting RabbitMQ (rabbitmq-server -detached)...");
    execFileSync("rabbitmq-server", ["-detached"], { stdio: "ignore" });
    startedNode = true;
  }
  execFileSync("rabbitmqctl", ["await_startup", "--timeout", "60"], { stdio: "ignore" });
  if (!(await portOpen(port))) {
    // The plugin reads its listeners when it starts: set them on the running node, then (re)enable.
    execFileSync("rabbitmq-plugins", ["disable", "rabbitmq_stomp"], { stdio: "ignore" });
    ctl([
      "eval",
      `application:load(rabbitmq_stomp), application:set_env(rabbitmq_stomp, tcp_listeners, [{"127.0.0.1", ${port}}]).`,
    ]);
    execFileSync("rabbitmq-plugins", ["enable", "rabbitmq_stomp"], { stdio: "ignore" });
  }
  // Test queues (TEST.*, and their dead-letter and delay queues) cannot be deleted over STOMP:
  // let RabbitMQ drop them after 5 idle minutes.
  ctl(["set_policy", "autoreduce-tests", "^(DLQ\\.)?TEST\\.", '{"expires":300000}', "--apply-to", "queues"]);
  const deadline = Date.now() + 30_000;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`RabbitMQ's STOMP plugin did not listen on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, startedNode };
}

export function stopRabbitNode(): void {
  execFileSync("rabbitmqctl", ["stop"], { stdio: "ignore" });
}
