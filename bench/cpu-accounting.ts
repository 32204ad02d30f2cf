import { readdirSync, readFileSync } from "node:fs";

/**
 * Where the CPU time of a measurement went, process by process, read from /proc. On a machine
 * whose cores are all busy (this bench saturates them), a run's throughput is set by the CPU
 * every part spends on it, so this says which part to make cheaper, and how much of the cost
 * belongs to servers that a facility runs on other machines (the broker, the database).
 */

/** Linux reports process times in clock ticks; 100 a second on every platform Node runs on here. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime: the process's own CPU, in seconds. */
  self: number;
  /** cutime + cstime: CPU of children it has waited for, in seconds. */
  reaped: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may itself hold spaces and parentheses.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const n = (i: number) => Number(f[i]) / TICKS_PER_SECOND;
    return { pid, ppid: Number(f[1]), self: n(11) + n(12), reaped: n(13) + n(14) };
  } catch {
    return null; // gone
  }
}

/** Every live process, by pid. */
function processTable(): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) table.set(stat.pid, stat);
  }
  return table;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** Live processes whose command line matches. */
export function findProcesses(pattern: RegExp): number[] {
  return [...processTable().keys()].filter((pid) => pattern.test(commandLine(pid)));
}

/**
 * CPU seconds of a process tree: the process, the children it reaped, and its live descendants.
 * Taken before and after, the difference counts every process that lived in the tree meanwhile,
 * short-lived ones included (they are reaped into their parent's `reaped`).
 */
function treeCpu(pid: number, table: Map<number, ProcStat>): number {
  const root = table.get(pid);
  if (!root) return 0;
  let total = root.self + root.reaped;
  for (const child of table.values()) if (child.ppid === pid) total += treeCpu(child.pid, table);
  return total;
}

/** The processes of one part of a measurement (each tree is counted once). */
export interface CpuPart {
  name: string;
  /** Roots of the trees counted for this part. */
  pids: number[];
  /** Count only the roots' own time, not their descendants' (e.g. a worker without its scripts). */
  selfOnly?: boolean;
}

export type CpuSnapshot = Map<string, number>;

export function cpuSnapshot(parts: CpuPart[]): CpuSnapshot {
  const table = processTable();
  const snapshot: CpuSnapshot = new Map();
  for (const part of parts) {
    let seconds = 0;
    for (const pid of part.pids) seconds += part.selfOnly ? (table.get(pid)?.self ?? 0) : treeCpu(pid, table);
    snapshot.set(part.name, seconds);
  }
  return snapshot;
}

/** Milliseconds of CPU per run for each part, between two snapshots. */
export function cpuPerRun(before: CpuSnapshot, after: CpuSnapshot, runs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, seconds] of after) out[name] = ((seconds - (before.get(name) ?? 0)) * 1000) / runs;
  return out;
}

/** The CPU seconds of this process's children that it has waited for (a finished child's whole tree). */
export function reapedChildrenCpu(): number {
  return readStat(process.pid)?.reaped ?? 0;
}

/** The parent of a live process; null when it is gone. */
export function parentOf(pid: number): number | null {
  return readStat(pid)?.ppid ?? null;
}
