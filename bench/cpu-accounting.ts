import { readdirSync, readFileSync } from "node:fs";
import { type ProcStat, readProcStat, systemConstants } from "../src/executors/process-table.ts";

/**
 * Where the CPU time of a measurement went, process by process, read from /proc. On a machine
 * whose cores are all busy (this bench saturates them), a run's throughput is set by the CPU
 * every part spends on it, so this says which part to make cheaper, and how much of the cost
 * belongs to servers that a facility runs on other machines (the broker, the database).
 */

/** Every live process, by pid. */
function processTable(): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
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
 * CPU ticks of a process's descendants: the children it reaped, and its live children's trees.
 * Taken before and after, the difference counts every process that lived below it meanwhile,
 * short-lived ones included (they are reaped into their parent's `reapedTicks`).
 */
function descendantTicks(pid: number, table: Map<number, ProcStat>): number {
  let total = table.get(pid)?.reapedTicks ?? 0;
  for (const child of table.values())
    if (child.ppid === pid) total += child.cpuTicks + descendantTicks(child.pid, table);
  return total;
}

/** The processes of one part of a measurement. */
export interface CpuPart {
  name: string;
  /** The processes counted for this part. */
  pids: number[];
  /** What is counted of each: its own time (default), its descendants' (e.g. the scripts a launcher starts), or both. */
  count?: "self" | "descendants" | "tree";
}

export type CpuSnapshot = Map<string, number>;

/** CPU seconds of each part now. */
export function cpuSnapshot(parts: CpuPart[]): CpuSnapshot {
  const table = processTable();
  const { clockTicks } = systemConstants();
  const snapshot: CpuSnapshot = new Map();
  for (const { name, pids, count = "self" } of parts) {
    let ticks = 0;
    for (const pid of pids) {
      if (count !== "descendants") ticks += table.get(pid)?.cpuTicks ?? 0;
      if (count !== "self") ticks += descendantTicks(pid, table);
    }
    snapshot.set(name, ticks / clockTicks);
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
  return (readProcStat(process.pid)?.reapedTicks ?? 0) / systemConstants().clockTicks;
}

/** The parent of a live process; null when it is gone. */
export function parentOf(pid: number): number | null {
  return readProcStat(pid)?.ppid ?? null;
}
