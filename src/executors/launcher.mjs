// The launcher: a small helper process that starts reduction scripts for a LocalExecutor. This is
// the Node version, used where python3 is missing; `launcher.py` does the same in a quarter of the
// memory and is preferred (see `launcher-choice.ts`). Both speak the same protocol.
//
// Why a separate process: forking costs time in proportion to the forking process's memory, and
// the worker is large; this process is small, so starting a script here is cheap. It is also the
// guard against orphans: if the worker dies (even by SIGKILL) stdin closes (or this process is
// re-parented) and every job it started is killed — its process group and every process
// carrying the job's token in its environment (`job-token.ts`), which finds processes that left
// the group and their parent. Watching the scripts (limits, usage) is the executor's job.
//
// With a log limit, the script writes into pipes and this process keeps the head and the tail of
// each stream within the limit (`capped-log.mjs`); without one, straight into the files.
//
// The protocol: one JSON object per line, in on stdin, out on stdout.
// Messages in:  {type: "start", id, command, args, cwd, env, token, stdoutFile, stderrFile, logLimitBytes}
//               {type: "finish", id}  (the job's tree is gone: close its logs; drop it)
// Messages out: {type: "started", id, pid} | {type: "failed", id, error, code}
//               | {type: "exit", id, code, signal}
//               | {type: "closed", id, cuts: [{stream, cutBytes}], problem, problemCode}
//               | {type: "subreaper", id: 0}  (launcher.py only, first: it is a child subreaper;
//                 Node cannot call prctl, so this launcher never says it)
import { spawn } from "node:child_process";
import { closeSync, constants, openSync, readdirSync, readFileSync } from "node:fs";
import { CappedLog } from "./capped-log.mjs";

// Truncated at start, then append-only: the executor appends its own `killed: …` line, which a
// script writing at its own file offset would otherwise overwrite.
const LOG_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;
const TOKEN_VARIABLE = "AUTOREDUCE_JOB_TOKEN";
/** How long `finish` waits for the pipes to drain before closing the logs anyway. */
const DRAIN_MS = 2000;

/** id → {pid, token, logs: CappedLog[] | null, open: number, finished, closed} */
const jobs = new Map();

function send(message) {
  // Once the worker is gone stdin closes and the shutdown ends everything; nothing to tell it.
  if (!shuttingDown) process.stdout.write(`${JSON.stringify(message)}\n`);
}

function start(message) {
  const { id, token } = message;
  const job = { pid: null, token, logs: null, streams: [], finishing: false, closed: false };
  jobs.set(id, job);
  let out;
  let err;
  try {
    const env = { ...message.env, [TOKEN_VARIABLE]: token };
    let stdio;
    if (message.logLimitBytes === null || message.logLimitBytes === undefined) {
      out = openSync(message.stdoutFile, LOG_FLAGS);
      err = openSync(message.stderrFile, LOG_FLAGS);
      stdio = ["ignore", out, err];
    } else {
      // One at a time, so that a failure to open the second still closes the first.
      job.logs = [];
      job.logs.push(new CappedLog(message.stdoutFile, message.logLimitBytes));
      job.logs.push(new CappedLog(message.stderrFile, message.logLimitBytes));
      stdio = ["ignore", "pipe", "pipe"];
    }
    const child = spawn(message.command, message.args, { cwd: message.cwd, env, detached: true, stdio });
    if (job.logs) {
      job.streams = [child.stdout, child.stderr];
      job.streams.forEach((stream, i) => {
        stream.on("data", (chunk) => job.logs[i].write(chunk));
        stream.on("end", () => maybeClose(id));
        stream.on("error", () => maybeClose(id));
      });
    }
    child.once("error", (e) => {
      closeLogs(job);
      jobs.delete(id);
      send({ type: "failed", id, error: e.message, code: e.code ?? null });
    });
    child.once("spawn", () => {
      job.pid = child.pid;
      send({ type: "started", id, pid: child.pid });
    });
    child.once("exit", (code, signal) => send({ type: "exit", id, code, signal }));
  } catch (e) {
    closeLogs(job);
    jobs.delete(id);
    send({ type: "failed", id, error: e.message, code: e.code ?? null });
  } finally {
    if (out !== undefined) closeSync(out);
    if (err !== undefined) closeSync(err);
  }
}

/** The executor has ended the job's tree: close its logs once the pipes are drained. */
function finish(id) {
  const job = jobs.get(id);
  if (!job) return send({ type: "closed", id, cuts: [], problem: null, problemCode: null });
  job.finishing = true;
  if (!maybeClose(id)) {
    // Something outside the tree still holds a pipe: do not wait for it.
    setTimeout(() => {
      for (const stream of job.streams) stream.destroy();
      closeJob(id);
    }, DRAIN_MS).unref();
  }
}

function maybeClose(id) {
  const job = jobs.get(id);
  if (!job?.finishing || job.streams.some((s) => !s.readableEnded && !s.destroyed)) return false;
  closeJob(id);
  return true;
}

function closeJob(id) {
  const job = jobs.get(id);
  if (!job || job.closed) return;
  job.closed = true;
  jobs.delete(id);
  closeLogs(job);
  const logs = job.logs ?? [];
  const failed = logs.find((log) => log.problem !== null);
  send({
    type: "closed",
    id,
    cuts: logs.map((log, i) => ({ stream: i === 0 ? "stdout" : "stderr", cutBytes: log.cutBytes })),
    problem: failed ? `cannot write the job's log ${failed.path}: ${failed.problem}` : null,
    problemCode: failed?.problemCode ?? null,
  });
}

function closeLogs(job) {
  for (const log of job.logs ?? []) log.close();
}

/** Pids of live processes that carry one of `tokens`. */
function tokenHolders(tokens) {
  const found = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let environ;
    try {
      environ = readFileSync(`/proc/${name}/environ`, "latin1");
    } catch {
      continue;
    }
    for (const entry of environ.split("\0")) {
      if (entry.startsWith(`${TOKEN_VARIABLE}=`) && tokens.has(entry.slice(TOKEN_VARIABLE.length + 1))) {
        found.push(Number(name));
        break;
      }
    }
  }
  return found;
}

function kill(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

let shuttingDown = false;

/** The worker is gone: kill every job it started, group and token holders, until none is left. */
function shutdown() {
  if (shuttingDown) return;
  shuttingDown = true;
  const tokens = new Set([...jobs.values()].map((job) => job.token));
  for (const job of jobs.values()) if (job.pid) kill(-job.pid, "SIGKILL");
  const deadline = Date.now() + 5000;
  const sweep = () => {
    const left = tokens.size ? tokenHolders(tokens) : [];
    for (const pid of left) kill(pid, "SIGKILL");
    if (left.length === 0 || Date.now() > deadline) {
      for (const job of jobs.values()) closeLogs(job);
      process.exit(0);
    }
    setTimeout(sweep, 20);
  };
  sweep();
}

let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  const lines = (pending + chunk).split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      continue;
    }
    if (message?.type === "start") start(message);
    else if (message?.type === "finish") finish(message.id);
  }
});
process.stdin.on("end", shutdown);
process.stdin.on("error", shutdown);
process.stdout.on("error", shutdown);
// A worker that dies without closing the channel still leaves this process to a new parent.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) shutdown();
}, 1000).unref();
// The worker decides when scripts stop; signals sent to the worker's process group (Ctrl-C)
// must not take the launcher down before the worker has handed its jobs back.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});
