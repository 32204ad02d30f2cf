import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  cli,
  type Daemon,
  type Deployment,
  makeDeployment,
  runsJson,
  startDaemon,
  waitForRun,
} from "../helpers/deployment.ts";
import { waitFor } from "../helpers/wait-for.ts";

// Starts a grandchild that leaves the process group (setsid), records both pids, then waits for
// a release file before finishing: the test decides when.
const SLOW = `import sys, os, time, subprocess
data, out = sys.argv[1], sys.argv[2]
grandchild = subprocess.Popen(["setsid", "sleep", "300"])
with open(os.path.join(out, "grandchild-%d" % os.getpid()), "w") as f:
    f.write(str(grandchild.pid))
with open(os.path.join(out, "pid-%d" % os.getpid()), "w") as f:
    f.write(str(os.getpid()))
while not os.path.exists(os.path.join(out, "release")):
    time.sleep(0.05)
with open(os.path.join(out, "result.txt"), "w") as f:
    f.write("done")
`;

let d: Deployment;
const daemons: Daemon[] = [];
before(() => {
  d = makeDeployment({ instruments: { SLOW: {} }, transport: { embedded: { lease_seconds: 2 } } });
  d.writeScript("SLOW", SLOW);
});
after(async () => {
  for (const daemon of daemons) await daemon.kill();
  d.cleanup();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a worker killed with SIGKILL mid-reduction: its script dies too, a new worker reduces the run once", async () => {
  const coordinator = startDaemon(["coordinator", "--config", d.configFile]);
  daemons.push(coordinator);
  const first = startDaemon(["worker", "--config", d.configFile]);
  daemons.push(first);
  const file = await d.writeRun("SLOW", 11);
  const sent = await cli(["submit", "--config", d.configFile, "--file", file]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /"run_number": 11/);

  const running = await waitForRun(
    d.configFile,
    (r) => r.run_number === 11 && r.status === "running",
    "running",
    30_000,
  );
  const outDir = running.output_dir ?? "";
  const pidFile = await waitFor(
    () => (existsSync(outDir) ? pidFileIn(outDir) : null),
    "the script to record its pid",
  );
  const scriptPid = Number(readFileSync(pidFile, "utf8"));
  const grandchildPid = Number(readFileSync(join(outDir, `grandchild-${scriptPid}`), "utf8"));
  assert.ok(alive(scriptPid));
  assert.ok(alive(grandchildPid));

  await first.kill();
  await waitFor(() => !alive(scriptPid), "the orphaned script to be killed by its guard", 10_000);
  await waitFor(() => !alive(grandchildPid), "its setsid grandchild to be killed too", 10_000);

  writeFileSync(join(outDir, "release"), "");
  const second = startDaemon(["worker", "--config", d.configFile]);
  daemons.push(second);
  const done = await waitForRun(
    d.configFile,
    (r) => r.run_number === 11 && r.status === "completed",
    "completed",
    30_000,
  );
  assert.equal(done.attempts, 2, "the interrupted attempt is recorded");
  const versions = (await runsJson(d.configFile, true)).filter((r) => r.run_number === 11);
  assert.deepEqual(
    versions.map((v) => [v.version, v.status]),
    [[0, "completed"]],
  );
});

function pidFileIn(dir: string): string | null {
  const name = readdirSync(dir).find((n) => n.startsWith("pid-"));
  return name ? join(dir, name) : null;
}
