import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { ConfigInput } from "../../src/config/config-schema.ts";
import { writeEventNexus } from "../../src/demo/event-nexus-writer.ts";
import type { RunView } from "../../src/store/run-views.ts";
import { tempDir } from "./temp-dir.ts";
import { waitFor } from "./wait-for.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "autoreduce.js");

/** A scratch deployment: config file, archive, scripts and output folders of its own. */
export interface Deployment {
  dir: string;
  configFile: string;
  archive: string;
  cleanup(): void;
  /** Writes a real NeXus event file in the SNS layout; returns its path. */
  writeRun(instrument: string, run: number, experiment?: string): Promise<string>;
  /** Writes a reduction script `<scripts>/<INST>/reduce_<INST>.py`. */
  writeScript(instrument: string, text: string): string;
}

export function makeDeployment(config: ConfigInput = {}): Deployment {
  const tmp = tempDir("autoreduce-e2e-");
  const archive = join(tmp.path, "archive");
  mkdirSync(archive, { recursive: true });
  const full: ConfigInput = {
    archive: { roots: [archive], settle_seconds: 0.3 },
    api: { port: 0 },
    log_level: "warn",
    ...config,
  };
  const configFile = join(tmp.path, "autoreduce.yaml");
  writeFileSync(configFile, stringify(full));
  return {
    dir: tmp.path,
    configFile,
    archive,
    cleanup: tmp.cleanup,
    async writeRun(instrument, run, experiment = "IPTS-1234") {
      const path = join(archive, instrument, experiment, "nexus", `${instrument}_${run}.nxs.h5`);
      await writeEventNexus(path, {
        instrument,
        runNumber: run,
        experiment,
        title: `test run ${run}`,
        banks: 2,
        eventsPerBank: 500,
        seed: run,
        startTime: new Date(),
        durationSeconds: 10,
      });
      return path;
    },
    writeScript(instrument, text) {
      const dir = join(tmp.path, "scripts", instrument);
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `reduce_${instrument}.py`);
      writeFileSync(path, text);
      return path;
    },
  };
}

/** Runs one CLI command to completion. */
export function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `autoreduce runs --json` of a deployment. */
export async function runsJson(configFile: string, allVersions = false): Promise<RunView[]> {
  const result = await cli([
    "runs",
    "--config",
    configFile,
    "--json",
    ...(allVersions ? ["--all-versions"] : []),
  ]);
  if (result.code !== 0) throw new Error(`runs failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as RunView[];
}

/** A long-running CLI command (serve, worker, ...) with its output collected. */
export interface Daemon {
  proc: ChildProcessWithoutNullStreams;
  output(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

export function startDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  let out = "";
  proc.stdout.on("data", (d) => {
    out += d;
  });
  proc.stderr.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** Waits until `runs --json` shows a run whose latest version matches. */
export function waitForRun(
  configFile: string,
  predicate: (run: RunView) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<RunView> {
  let seen: RunView[] = [];
  return waitFor(
    async () => {
      seen = await runsJson(configFile);
      return seen.find(predicate);
    },
    what,
    timeoutMs,
    200,
  ).catch((e: Error) => {
    const runs = seen.map((r) => `${r.instrument} ${r.run_number} v${r.version} ${r.status}`).join(", ");
    throw new Error(`${e.message}; runs seen last: ${runs || "none"}`);
  });
}

/** `autoreduce serve --config FILE --no-api`, waited for until it says it is running. */
export async function startServe(configFile: string, extra: string[] = ["--no-api"]): Promise<Daemon> {
  const serve = startDaemon(["serve", "--config", configFile, ...extra]);
  await waitFor(() => serve.output().includes("running; press Ctrl-C"), "serve to start", 60_000);
  return serve;
}
