/**
 * The mark every process of a local job carries: `AUTOREDUCE_JOB_TOKEN=<owner pid>.<owner start
 * time>.<random>` in its environment. A process that leaves the job's process group (`setsid`)
 * and loses its parent (double fork) keeps its environment, and `/proc/<pid>/environ` shows it,
 * so the token finds every process of a job however it detached — unless it clears its own
 * environment on purpose, which no reduction script has a reason to do.
 *
 * The owner is the process that started the job (the worker). A token whose owner is no longer
 * alive belongs to an orphan: any executor on the machine may kill it (`sweepOrphans`).
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readdirSync, readSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { processStartTime } from "./process-table.ts";

/** Name of the environment variable that holds a job's token. */
export const JOB_TOKEN_VARIABLE = "AUTOREDUCE_JOB_TOKEN";

const PREFIX = Buffer.from(`\0${JOB_TOKEN_VARIABLE}=`);

/** This process's own pid and start time (read once: they never change while it lives). */
let ownerPrefix: string | null = null;

/** A fresh token for a job started by this process. */
export function newJobToken(): string {
  if (ownerPrefix === null) {
    const startTime = processStartTime(process.pid);
    if (startTime === null) return `${process.pid}.0.${randomBytes(12).toString("hex")}`;
    ownerPrefix = `${process.pid}.${startTime}`;
  }
  return `${ownerPrefix}.${randomBytes(12).toString("hex")}`;
}

/** The process that started the job a token belongs to; null if the text is not a token. Pure. */
export function tokenOwner(token: string): { pid: number; startTime: number } | null {
  const match = /^(\d+)\.(\d+)\.[0-9a-f]+$/.exec(token);
  if (!match) return null;
  return { pid: Number(match[1]), startTime: Number(match[2]) };
}

/**
 * The job token in an environment block as `/proc/<pid>/environ` holds it (NUL-separated
 * `NAME=value` entries); null if there is none. Pure.
 */
export function tokenInEnviron(environ: Buffer): string | null {
  // Prefixing a NUL lets the first entry match like the others.
  const padded = Buffer.concat([Buffer.from([0]), environ]);
  const at = padded.indexOf(PREFIX);
  if (at < 0) return null;
  const start = at + PREFIX.length;
  const end = padded.indexOf(0, start);
  return padded.toString("utf8", start, end < 0 ? padded.length : end);
}

const ENVIRON_READ_BYTES = 256 * 1024;
const environBuffer = Buffer.alloc(ENVIRON_READ_BYTES);

/** The job token of a live process; null if it has none, is gone, or its environment is unreadable. */
export function processToken(pid: number): string | null {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/environ`, "r");
  } catch {
    return null;
  }
  try {
    let length = 0;
    for (let n = 1; n > 0 && length < ENVIRON_READ_BYTES; length += n)
      n = readSync(fd, environBuffer, length, ENVIRON_READ_BYTES - length, null);
    return tokenInEnviron(environBuffer.subarray(0, length));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Pids of the live processes whose token satisfies `matches`. */
export function processesWithToken(matches: (token: string) => boolean): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    const first = name.charCodeAt(0);
    if (first < 0x30 || first > 0x39) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const token = processToken(pid);
    if (token !== null && matches(token)) found.push(pid);
  }
  return found;
}

/** How long a sweep keeps killing processes that keep appearing (a fork loop) or will not die (D state). */
const SWEEP_TIMEOUT_MS = 5000;
const SWEEP_POLL_MS = 20;

/**
 * Kills (SIGKILL) every process whose token satisfies `matches`, again and again until a scan
 * finds none or the time is up. Returns how many processes are left (0 when all are gone).
 */
export async function killByToken(matches: (token: string) => boolean, timeoutMs = SWEEP_TIMEOUT_MS) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = processesWithToken(matches);
    if (left.length === 0 || performance.now() > deadline) return left.length;
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await delay(SWEEP_POLL_MS);
  }
}

/**
 * Kills the processes of jobs whose starting process (the worker) is gone: what a worker killed
 * together with its launcher (SIGKILL of the whole group, the OOM killer) left behind. Safe to run
 * from any worker on the machine: a job whose owner still lives is never touched. Returns the
 * number of processes killed.
 */
export async function sweepOrphans(): Promise<number> {
  const ownerAlive = new Map<string, boolean>();
  const orphaned = (token: string): boolean => {
    const owner = tokenOwner(token);
    if (!owner) return false;
    const key = `${owner.pid}.${owner.startTime}`;
    let alive = ownerAlive.get(key);
    if (alive === undefined) {
      alive = processStartTime(owner.pid) === owner.startTime;
      ownerAlive.set(key, alive);
    }
    return !alive;
  };
  const found = processesWithToken(orphaned).length;
  if (found > 0) await killByToken(orphaned);
  return found;
}
