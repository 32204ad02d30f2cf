import { Command, Option } from "commander";
import { type Config, loadConfig } from "../config/load-config.ts";
import { Coordinator, type ReductionChange } from "../coordinator/coordinator.ts";
import { startDemoInstrument } from "../demo/demo-instrument.ts";
import { DEMO_EXPERIMENT, DEMO_INSTRUMENT, prepareDemo } from "../demo/demo-setup.ts";
import { ArchiveListener } from "../listener/archive-listener.ts";
import { type DaemonKind, startHeartbeat, workerDetails } from "../service/heartbeat.ts";
import { startHeartbeatRecorder } from "../service/heartbeat-recorder.ts";
import { startApiServer } from "../web/api-server.ts";
import { ReductionWorker } from "../worker/reduction-worker.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";
import { type RunningPart, runUntilSignal } from "./part-runner.ts";
import { positiveInt } from "./runs-command.ts";

interface ServeOptions {
  config?: string;
  demo?: boolean;
  dataDir?: string;
  port?: number;
  api: boolean;
  listener: boolean;
  worker: boolean;
  demoInterval: number;
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("run everything on one machine: listener, coordinator, worker and the JSON API")
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .option("--demo", "run with a simulated DEMO instrument that writes a NeXus run every few seconds")
    .option(
      "--data-dir <dir>",
      "with --demo: folder for the config, database, archive and output (default: a new scratch folder)",
    )
    .addOption(new Option("--port <port>", "JSON API port (overrides api.port)").argParser(Number))
    .option("--no-api", "do not serve the JSON API")
    .option("--no-listener", "do not watch the archive")
    .option("--no-worker", "do not run reductions in this process")
    .addOption(
      new Option("--demo-interval <seconds>", "with --demo: seconds between runs")
        .default(5)
        .argParser(positiveInt),
    )
    .action(async (options: ServeOptions) => serve(options));
}

async function serve(options: ServeOptions): Promise<void> {
  let config: Config;
  if (options.demo) {
    const demo = prepareDemo(options.dataDir, options.port ?? 8080);
    config = loadConfig(demo.configFile);
    say(`demo: data, database and output in ${demo.dataDir}`);
    say(`demo: configuration written to ${demo.configFile}`);
  } else {
    config = configFromOption(options.config);
  }
  const c = await connect(config, "serve");
  const parts: RunningPart[] = [{ name: "database", stop: () => c.close() }];
  const recorder = await startHeartbeatRecorder(c);
  parts.push({ name: "heartbeat recorder", stop: () => recorder.stop() });
  // One heartbeat per part, as in a split deployment: `status` shows each part with its own role.
  const beat = async (kind: DaemonKind, details?: () => Record<string, unknown>) => {
    const heartbeat = await startHeartbeat({
      ...c,
      kind,
      record: recorder.record,
      ...(details ? { details } : {}),
    });
    return { name: `${kind} heartbeat`, stop: () => heartbeat.stop() };
  };
  const coordinator = await Coordinator.start({ ...c, onChange: printChange });
  parts.push(await beat("coordinator"), { name: "coordinator", stop: () => coordinator.stop() });
  if (options.worker) {
    const worker = await ReductionWorker.start(c);
    parts.push(await beat("worker", () => workerDetails(worker)), {
      name: "worker",
      stop: () => worker.stop(),
    });
  }
  if (options.api && config.api.enabled) {
    const port = options.port ?? config.api.port;
    const api = await startApiServer({
      ...c,
      host: config.api.host,
      port,
      token: process.env.AUTOREDUCE_API_TOKEN,
    }).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== "EADDRINUSE" || !options.demo)
        throw new CommandFailed(`cannot serve the API on port ${port}: ${e.message}`);
      return startApiServer({
        ...c,
        host: config.api.host,
        port: 0,
        token: process.env.AUTOREDUCE_API_TOKEN,
      });
    });
    parts.push({ name: "api", stop: () => api.app.close() });
    say(`API: ${api.url}/api/v1/runs`);
  }
  if (options.listener) {
    const listener = await ArchiveListener.start(c);
    parts.push(await beat("listener"), { name: "listener", stop: () => listener.stop() });
    say(
      `watching ${config.archive.roots.join(", ")} for ${Object.keys(config.instruments).join(", ") || "no instruments"}`,
    );
  }
  if (options.demo) {
    const root = config.archive.roots[0] ?? config.data_dir;
    const instrument = startDemoInstrument({
      archiveRoot: root,
      instrument: DEMO_INSTRUMENT,
      experiment: DEMO_EXPERIMENT,
      intervalMs: options.demoInterval * 1000,
      firstRun: 1,
      onRun: ({ runNumber }) => say(`${DEMO_INSTRUMENT} ${runNumber}: run finished, file written`),
      onError: (e) => c.log.error({ err: e }, "demo instrument"),
    });
    parts.push({ name: "demo instrument", stop: () => instrument.stop() });
  }
  say("running; press Ctrl-C to stop");
  await runUntilSignal(parts, c.log, () => say("stopping..."));
}

function say(text: string): void {
  process.stdout.write(`${new Date().toLocaleTimeString()}  ${text}\n`);
}

function printChange(change: ReductionChange): void {
  const detail = change.message ? `  ${change.message.split("\n")[0]}` : "";
  say(`${change.instrument} ${change.run_number} v${change.version}: ${change.status}${detail}`);
}
