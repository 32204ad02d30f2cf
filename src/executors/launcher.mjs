// The launcher: a small helper process that starts reduction scripts for a LocalExecutor.
//
// Why a separate process: forking costs time in proportion to the forking process's memory, and
// the worker is large; this process is small, so starting a script here is cheap. It is also the
// guard against orphans: if the worker dies (even by SIGKILL) the IPC channel closes and every
// script still running is killed with its whole process group. Watching the scripts (limits,
// usage, processes that leave the group) is the executor's job, not this process's.
//
// Messages in:  {type: "start", id, command, args, cwd, env, stdoutFile, stderrFile}
// Messages out: {type: "started", id, pid} | {type: "failed", id, error} | {type: "exit", id, code, signal}
import { spawn } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";

// Truncated at start, then append-only: the executor appends its own `killed: …` line, which a
// script writing at its own file offset would otherwise overwrite.
const LOG_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;

const live = new Map(); // id → pid (also the process group id)

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function start(message) {
  const { id } = message;
  let out;
  let err;
  try {
    out = openSync(message.stdoutFile, LOG_FLAGS);
    err = openSync(message.stderrFile, LOG_FLAGS);
    const child = spawn(message.command, message.args, {
      cwd: message.cwd,
      env: message.env,
      detached: true,
      stdio: ["ignore", out, err],
    });
    child.once("error", (e) => process.send?.({ type: "failed", id, error: e.message }));
    child.once("spawn", () => {
      live.set(id, child.pid);
      process.send?.({ type: "started", id, pid: child.pid });
    });
    child.once("exit", (code, signal) => {
      live.delete(id);
      process.send?.({ type: "exit", id, code, signal });
    });
  } catch (e) {
    process.send?.({ type: "failed", id, error: e.message });
  } finally {
    if (out !== undefined) closeSync(out);
    if (err !== undefined) closeSync(err);
  }
}

process.on("message", (message) => {
  if (message?.type === "start") start(message);
});
process.on("disconnect", () => {
  for (const pid of live.values()) killGroup(pid, "SIGKILL");
  process.exit(0);
});
// The worker decides when scripts stop; signals sent to the worker's process group (Ctrl-C)
// must not take the launcher down before the worker has handed its jobs back.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});
