#!/usr/bin/env node
// Runs every test file under test/ with node:test and tsx.
// Node 20's --test does not expand globs, so the files are listed here.
// Usage: node scripts/run-tests.mjs [path-filter ...]
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...collect(full));
    else if (name.endsWith(".test.ts")) out.push(relative(root, full));
  }
  return out;
}

const files = collect(join(root, "test"))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(" ")}`);
  process.exit(1);
}
// The real servers (ActiveMQ, RabbitMQ's STOMP plugin, PostgreSQL): installed and started by the
// project's own script, their addresses passed to the tests, and what was started stopped after.
// A server that cannot be started fails the run (in CI and elsewhere): there is no skip.
const services = join(root, "scripts", "services", "cli.ts");
const serviceRun = (command) =>
  spawnSync(process.execPath, ["--import", "tsx", services, command, "--owner", String(process.pid)], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
const started = serviceRun("start");
if (started.status !== 0) {
  console.error("the test services could not be started (see above); no tests were run");
  process.exit(1);
}
const env = { ...process.env };
for (const line of started.stdout.trim().split("\n")) {
  const at = line.indexOf("=");
  if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? "2";
const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, "--test-reporter=spec", ...files],
  { cwd: root, stdio: "inherit", env },
);
const finish = (code) => {
  serviceRun("stop");
  process.exit(code);
};
process.once("SIGINT", () => child.kill("SIGINT"));
process.once("SIGTERM", () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => finish(code ?? (signal ? 1 : 0)));
