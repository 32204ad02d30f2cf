import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { type Daemon, startDaemon, waitForRun } from "../helpers/deployment.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";

const scratch = tempDir("autoreduce-demo-test-");
let serve: Daemon | null = null;
after(async () => {
  await serve?.stop();
  scratch.cleanup();
});

test("serve --demo: simulated runs appear and are really reduced, in the terminal and at the API", async () => {
  serve = startDaemon(["serve", "--demo", "--data-dir", scratch.path, "--demo-interval", "1", "--port", "0"]);
  const configFile = join(scratch.path, "autoreduce.yaml");
  await waitFor(() => existsSync(configFile), "the demo config to be written", 20_000);
  const run = await waitForRun(
    configFile,
    (r) => r.instrument === "DEMO" && r.status === "completed",
    "a completed DEMO run",
    60_000,
  );
  const plot = run.output_files.find((f) => f.endsWith("_plot.json")) ?? "";
  assert.ok(
    run.output_files.some((f) => f.endsWith("_reduced.dat")),
    `outputs: ${run.output_files.join(", ")}`,
  );
  const data = JSON.parse(readFileSync(plot, "utf8")) as { series: Array<{ name: string; y: number[] }> };
  assert.ok(data.series.length >= 2, "one histogram per bank");
  assert.ok(
    data.series.every((s) => s.y.reduce((a, b) => a + b, 0) > 0),
    "every bank has counts",
  );
  await waitFor(
    () => /DEMO \d+ v0: completed/.test(serve?.output() ?? ""),
    "the terminal to show a completed run",
  );
  const api = /API: (http:\/\/\S+)\/api\/v1\/runs/.exec(serve.output())?.[1];
  const runs = (await (await fetch(`${api}/api/v1/runs?instrument=DEMO`)).json()) as Array<{
    status: string;
  }>;
  assert.ok(runs.some((r) => r.status === "completed"));
});
