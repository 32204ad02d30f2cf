import type { PartContext, PartName, PartStart, RunningPart } from "../service/part-registry.ts";

// Each start loads its own part's code, so a process loads only the parts it runs.

/** How every part of the registry starts: the record's type makes a part without a start an error. */
const STARTS: Record<PartName, PartStart> = {
  coordinator: (c) => startCoordinator(c),
  worker: (c) => startWorker(c),
  web: (c) => startWeb(c),
  listener: (c) => startListener(c),
};

/** The start of a part, by its registry name. */
export function partStart(name: PartName): PartStart {
  return STARTS[name];
}

/** The coordinator: owns the state database, turns DATA_READY into jobs and records reports. */
export async function startCoordinator(c: PartContext): Promise<RunningPart> {
  const { Coordinator } = await import("../coordinator/coordinator.ts");
  const coordinator = await Coordinator.start({
    ...c,
    database: required(c, "coordinator"),
    ...(c.onReductionChange ? { onChange: c.onReductionChange } : {}),
  });
  return { stop: () => coordinator.stop() };
}

/** A worker: takes jobs from its queues and runs the scripts; beats with its slots and jobs. */
export async function startWorker(c: PartContext): Promise<RunningPart> {
  const { ReductionWorker } = await import("../worker/reduction-worker.ts");
  const { workerDetails } = await import("../service/heartbeat.ts");
  const worker = await ReductionWorker.start(c);
  return { stop: () => worker.stop(), details: () => workerDetails(worker) };
}

/** The archive listener: announces complete run files. */
export async function startListener(c: PartContext): Promise<RunningPart> {
  const { ArchiveListener } = await import("../listener/archive-listener.ts");
  const listener = await ArchiveListener.start({ ...c, database: required(c, "listener") });
  const { roots } = c.config.archive;
  const instruments = Object.keys(c.config.instruments).join(", ") || "no instruments";
  c.say(`watching ${roots.join(", ")} for ${instruments}`);
  return { stop: () => listener.stop() };
}

/**
 * The web application (pages and the JSON API) on `api.host:api.port`. A taken port fails the start (or, with `portFallback`, a
 * free port is used); an error of the listening server later fails the part.
 */
export async function startWeb(c: PartContext): Promise<RunningPart> {
  const { startWebServer } = await import("../web/web-server.tsx");
  const { loginMethods } = await import("../web/auth/login-methods.ts");
  const database = required(c, "web");
  const methods = await loginMethods(c.config, database, c.log);
  const listen = (port: number) =>
    startWebServer({
      ...c,
      database,
      host: c.config.api.host,
      port,
      loginMethods: methods,
    });
  // The shared token of earlier versions: say once that it no longer opens anything.
  if (process.env.AUTOREDUCE_API_TOKEN)
    c.log.warn(
      "AUTOREDUCE_API_TOKEN is no longer used and grants nothing: give each holder a token of their own with `autoreduce token create`",
    );
  const server = await listen(c.config.api.port).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EADDRINUSE" || !c.portFallback) throw e;
    c.say(`port ${c.config.api.port} is taken: using a free port instead`);
    return listen(0);
  });
  server.app.server.on("error", (e) => c.fail(e));
  c.say(`web: open ${server.url}/ (API under ${server.url}/api/v1/)`);
  return { stop: () => server.close(), details: () => ({ url: server.url }) };
}

function required(c: PartContext, part: string) {
  if (!c.database) throw new Error(`the ${part} needs the state database`);
  return c.database;
}
