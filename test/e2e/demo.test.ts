import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { type Daemon, startDaemon, waitForRun } from "../helpers/deployment.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { signIn } from "../helpers/web-stack.ts";

const scratch = tempDir("autoreduce-demo-test-");
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  scratch.cleanup();
});

/** The first test's demo, which the second one stops and reads. */
let first: Daemon | null = null;

function demo(args: string[]): Daemon {
  const serve = startDaemon(["serve", "--demo", "--demo-interval", "1", ...args]);
  cleanups.push(() => serve.stop());
  return serve;
}

test("serve --demo: simulated runs appear and are really reduced, in the terminal and at the API", async () => {
  const serve = demo(["--data-dir", scratch.path, "--port", "0"]);
  first = serve;
  const configFile = join(scratch.path, "autoreduce.yaml");
  await waitFor(() => existsSync(configFile), "the demo config to be written", 60_000);
  const run = await waitForRun(
    configFile,
    (r) => r.instrument === "DEMO" && r.status === "completed",
    "a completed DEMO run",
    60_000,
  );
  const plot = run.output_files.find((f) => f.endsWith(".plot.json")) ?? "";
  assert.ok(
    run.output_files.some((f) => f.endsWith("_reduced.dat")),
    `outputs: ${run.output_files.join(", ")}`,
  );
  const data = JSON.parse(readFileSync(plot, "utf8")) as { series: Array<{ name: string; y: number[] }> };
  assert.equal(data.series.length, 1, "I(Q) of the banks focused");
  assert.ok(
    data.series.every((s) => s.y.reduce((a, b) => a + b, 0) > 0),
    "it has counts",
  );
  await waitFor(() => /DEMO \d+ v0: completed/.test(serve.output()), "the terminal to show a completed run");
  const api = /web: open (http:\/\/\S+)\/ /.exec(serve.output())?.[1];
  // DEMO is open to anonymous readers.
  const runs = (await (await fetch(`${api}/api/v1/runs?instrument=DEMO`)).json()) as Array<{
    status: string;
  }>;
  assert.ok(runs.some((r) => r.status === "completed"));
  // The printed login works, and is in DIR/demo-credentials (one line, mode 0600).
  const credentials = join(scratch.path, "demo-credentials");
  assert.equal(statSync(credentials).mode & 0o777, 0o600);
  const [user, password] = readFileSync(credentials, "utf8").trim().split(" ");
  assert.equal(user, "admin");
  assert.match(serve.output(), new RegExp(`sign in as "admin" with password ${password}`));
  const session = await signIn(api ?? "", user ?? "", password ?? "");
  const jobs = await session.get("/api/v1/jobs");
  assert.equal(jobs.status, 200, "the demo admin reads the admin-only job list");
});

test("serve --demo's terminal shows short human lines, and the JSON log lines go to DIR/autoreduce.log", async () => {
  // The first test's demo ran long enough to log its parts starting and its runs.
  assert.ok(first, "the first test started a demo");
  assert.equal(await first.stop(), 0);
  const console = first.output().split("\n").filter(Boolean);
  assert.ok(console.length > 5, console.join("\n"));
  const json = console.filter((line) => line.trimStart().startsWith("{"));
  assert.deepEqual(json, [], "no raw JSON on the console");
  assert.ok(
    console.every((line) => /^\d{1,2}:\d{2}:\d{2}( [AP]M)? {2}\S/.test(line)),
    `every line is a time and a short text:\n${console.join("\n")}`,
  );
  assert.ok(console.some((line) => line.includes(`detailed log in ${join(scratch.path, "autoreduce.log")}`)));
  const log = readFileSync(join(scratch.path, "autoreduce.log"), "utf8").split("\n").filter(Boolean);
  const entries = log.map((line) => JSON.parse(line) as { msg: string; part?: string });
  assert.ok(entries.some((e) => e.msg === "part running" && e.part === "coordinator"));
  assert.ok(entries.some((e) => /announced DEMO run \d+/.test(e.msg)));
});

test("serve --demo falls back to a free port when its port is taken, and says which address to open", async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
  const taken = (blocker.address() as { port: number }).port;
  const dir = tempDir("autoreduce-demo-port-");
  cleanups.push(dir.cleanup);
  const serve = demo(["--data-dir", dir.path, "--port", String(taken)]);
  await waitFor(() => serve.output().includes("running; press Ctrl-C"), "the demo to run", 30_000);
  assert.match(serve.output(), new RegExp(`port ${taken} is taken: using a free port instead`));
  const api = /web: open (http:\/\/127\.0\.0\.1:(\d+))\/ /.exec(serve.output());
  assert.ok(api, serve.output());
  assert.notEqual(Number(api[2]), taken);
  assert.equal((await fetch(`${api[1]}/healthz`)).status, 200);
});
