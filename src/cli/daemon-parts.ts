import { Coordinator } from "../coordinator/coordinator.ts";
import { ArchiveListener } from "../listener/archive-listener.ts";
import { startHeartbeat } from "../service/heartbeat.ts";
import { startHeartbeatRecorder } from "../service/heartbeat-recorder.ts";
import { startApiServer } from "../web/api-server.ts";
import type { Connections } from "./cli-context.ts";
import type { RunningPart } from "./part-runner.ts";

/**
 * The coordinator records every daemon's heartbeats (it owns the database), its own directly.
 * Its heartbeat starts once it runs, and stops after it (the last beat says "stopped").
 */
export async function startCoordinator(c: Connections): Promise<RunningPart[]> {
  const recorder = await startHeartbeatRecorder(c);
  const coordinator = await Coordinator.start(c);
  const heartbeat = await startHeartbeat({ ...c, kind: "coordinator", record: recorder.record });
  return [
    { name: "heartbeat recorder", stop: () => recorder.stop() },
    { name: "heartbeat", stop: () => heartbeat.stop() },
    { name: "coordinator", stop: () => coordinator.stop() },
  ];
}

export async function startListener(c: Connections): Promise<RunningPart[]> {
  const listener = await ArchiveListener.start(c);
  const heartbeat = await startHeartbeat({ ...c, kind: "listener" });
  return [
    { name: "heartbeat", stop: () => heartbeat.stop() },
    { name: "listener", stop: () => listener.stop() },
  ];
}

/** The JSON API (and, later, the web pages) on its own: it needs the database and the transport. */
export async function startWeb(c: Connections): Promise<RunningPart[]> {
  const { api } = c.config;
  const server = await startApiServer({
    ...c,
    host: api.host,
    port: api.port,
    token: process.env.AUTOREDUCE_API_TOKEN,
  });
  process.stdout.write(`API: ${server.url}/api/v1/runs\n`);
  return [{ name: "api", stop: () => server.app.close() }];
}
