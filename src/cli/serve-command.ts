import { Command, Option } from "commander";
import type { Config } from "../config/load-config.ts";
import { loadConfig } from "../config/load-config.ts";
import type { ReductionChange } from "../coordinator/coordinator.ts";
import { type DemoInstrument, startDemoInstrument } from "../demo/demo-instrument.ts";
import { DEMO_EXPERIMENT, DEMO_INSTRUMENT, DEMO_PORT, prepareDemo } from "../demo/demo-setup.ts";
import { PARTS, type PartName } from "../service/part-registry.ts";
import type { RestartPolicy } from "../service/restart-policy.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { runParts } from "./part-runner.ts";
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
    .description(
      "run every part on one machine (coordinator, worker, web application, listener), restarting a part that fails",
    )
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .option("--demo", "run with a simulated DEMO instrument that writes a NeXus run every few seconds")
    .option(
      "--data-dir <dir>",
      "with --demo: folder for the config, database, archive, output and autoreduce.log (default: a new scratch folder)",
    )
    .addOption(
      new Option(
        "--port <port>",
        `web port, pages and API (overrides api.port; the demo's is ${DEMO_PORT})`,
      ).argParser(Number),
    )
    .option("--no-api", "do not serve the web application and its API")
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
    const demo = prepareDemo(options.dataDir, options.port ?? DEMO_PORT);
    config = loadConfig(demo.configFile);
    say(`demo: data, database and output in ${demo.dataDir}`);
    say(`demo: configuration written to ${demo.configFile}`);
    if (config.log_file) say(`demo: detailed log in ${config.log_file}`);
  } else {
    config = configFromOption(options.config);
    if (options.port !== undefined) config = { ...config, api: { ...config.api, port: options.port } };
  }
  const c = await connect(config, "serve", undefined, "now");
  if (options.demo && c.database) {
    const { ensureDemoLogin } = await import("../web/auth/demo-login.ts");
    const login = await ensureDemoLogin(c.database, config.data_dir);
    say(
      login.password
        ? `demo: sign in as "${login.username}" with password ${login.password} (also in ${login.file}); ${DEMO_INSTRUMENT} is readable without signing in`
        : `demo: sign in as "${login.username}" with the password in ${login.file}`,
    );
  }
  const wanted: Record<PartName, boolean> = {
    coordinator: true,
    worker: options.worker,
    web: options.api && config.api.enabled,
    listener: options.listener,
  };
  // Started once every part had its first start, so its first run is not missed.
  const instruments: DemoInstrument[] = [];
  try {
    await runParts(
      PARTS.filter((part) => wanted[part.name]),
      c,
      {
        policy: restartPolicy(config),
        say,
        portFallback: options.demo === true,
        onReductionChange: printChange,
        onStarted: () => {
          if (options.demo) instruments.push(demoInstrument(config, options.demoInterval, c.log));
          say("running; press Ctrl-C to stop");
        },
        onStopping: () => say("stopping..."),
      },
    );
  } finally {
    for (const instrument of instruments) await instrument.stop();
  }
}

/** `supervision` of the config, in milliseconds. */
function restartPolicy(config: Config): RestartPolicy {
  const s = config.supervision;
  return {
    maxFailures: s.max_failures,
    windowMs: s.window_seconds * 1000,
    initialDelayMs: s.backoff_initial_seconds * 1000,
    maxDelayMs: s.backoff_max_seconds * 1000,
  };
}

function demoInstrument(config: Config, intervalSeconds: number, log: { error(o: object, m: string): void }) {
  return startDemoInstrument({
    archiveRoot: config.archive.roots[0] ?? config.data_dir,
    instrument: DEMO_INSTRUMENT,
    experiment: DEMO_EXPERIMENT,
    intervalMs: intervalSeconds * 1000,
    firstRun: 1,
    onRun: ({ runNumber }) => say(`${DEMO_INSTRUMENT} ${runNumber}: run finished, file written`),
    onError: (e) => log.error({ err: e }, "demo instrument"),
  });
}

/** One short line of `serve`'s terminal view on stdout. */
function say(text: string): void {
  process.stdout.write(`${new Date().toLocaleTimeString()}  ${text}\n`);
}

function printChange(change: ReductionChange): void {
  const detail = change.message ? `  ${change.message.split("\n")[0]}` : "";
  say(`${change.instrument} ${change.run_number} v${change.version}: ${change.status}${detail}`);
}
