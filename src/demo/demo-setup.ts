import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { ConfigInput } from "../config/config-schema.ts";
import { readJobKey } from "../config/job-key.ts";
import { packageFile } from "../package-files.ts";

/** The port of the demo's API: when it is taken, `serve --demo` uses a free one and says which. */
export const DEMO_PORT = 8080;

/** The demo instrument's name and experiment. */
export const DEMO_INSTRUMENT = "DEMO";
export const DEMO_EXPERIMENT = "IPTS-1234";

/**
 * Prepares a demo deployment in `dataDir` (a fresh scratch folder when not given): the archive,
 * the DEMO instrument's reduction script, the job key (`job.key`, mode 0600, kept if there) and
 * `autoreduce.yaml`, which `serve --demo` then runs with. Returns the folder and the config file.
 */
export function prepareDemo(dataDir?: string, apiPort = DEMO_PORT): { dataDir: string; configFile: string } {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "autoreduce-demo-"));
  mkdirSync(join(dir, "archive"), { recursive: true });
  const scriptDir = join(dir, "scripts", DEMO_INSTRUMENT);
  mkdirSync(scriptDir, { recursive: true });
  const template = readFileSync(packageFile("examples", "demo", "reduce_DEMO.mjs"), "utf8");
  // The script runs from the scratch folder, where node_modules cannot be found: point it at ours.
  const script = template.replaceAll("__H5WASM_NODE__", import.meta.resolve("h5wasm/node"));
  writeFileSync(join(scriptDir, "reduce_DEMO.mjs"), script);
  const config: ConfigInput = {
    data_dir: ".",
    facility: "SNS",
    database: { url: "sqlite:autoreduce.db" },
    archive: { roots: ["archive"], settle_seconds: 1, reconcile_seconds: 60 },
    scripts: { root: "scripts" },
    output: { root: "output" },
    instruments: {
      [DEMO_INSTRUMENT]: { interpreter: process.execPath, script: "reduce_DEMO.mjs" },
    },
    worker: { max_procs: 2 },
    api: { port: apiPort },
    web: { anonymous_read: [DEMO_INSTRUMENT] },
    security: { job_key_file: "job.key" },
    log_file: "autoreduce.log",
  };
  const configFile = join(dir, "autoreduce.yaml");
  writeFileSync(
    configFile,
    `# Written by \`autoreduce serve --demo\`: the configuration the demo runs with.\n# Every key is described in docs/configuration.md.\n${stringify(config)}`,
  );
  // The key the coordinator signs jobs with and the worker checks them with (mode 0600).
  readJobKey({ data_dir: dir, security: { job_key_file: "job.key" }, source: configFile });
  return { dataDir: dir, configFile };
}
