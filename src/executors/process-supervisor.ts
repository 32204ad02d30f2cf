/**
 * Watches the process trees of running jobs: one `/proc` scan per check serves every job of an
 * executor, measures each tree's memory and CPU, and reports the first limit a tree exceeds.
 * Ending a tree for good — including processes that left its process group — is done here too,
 * because only the supervisor knows every process a tree ever had.
 */
import { statSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { formatBytes } from "../config/memory-size.ts";
import type { ExecutionLimits, ResourceUsage } from "./executor.ts";
import { processToken } from "./job-token.ts";
import {
  assignTrees,
  ProcessTable,
  processStartTime,
  systemConstants,
  type TreeRoot,
} from "./process-table.ts";

/** Period of the checks for a job without limits; it is still measured, for `usage()`. */
export const DEFAULT_CHECK_INTERVAL_MS = 1000;
/** Shortest period accepted, so that a mistaken `0` cannot turn the checks into a busy loop. */
const MIN_CHECK_INTERVAL_MS = 10;

/** How long `end` keeps killing a tree's processes before giving up on ones that will not die (D state). */
const END_TIMEOUT_MS = 3000;
const END_POLL_MS = 10;

/** What the supervisor needs to know about a job's tree. */
export interface TreeOptions {
  /** Limits to enforce; null to only measure. */
  limits: ExecutionLimits | null;
  /** The job's token (`job-token.ts`): processes that carry it are measured with the tree. */
  token?: string | null;
  /** Files whose growth counts as output, for the stall limit. */
  outputFiles: readonly string[];
  /** Called at most once, at the first check that finds a limit exceeded, e.g. `memory 1.2 GiB > limit 1.0 GiB`. */
  onBreach: (reason: string) => void;
}

/** A process seen in a tree. Kept while it lives, even after it left the group or lost its parent. */
interface Member {
  startTime: number;
  /** Highest CPU time seen, in clock ticks. */
  cpuTicks: number;
  /** Number of the last scan that saw it. */
  seenInScan: number;
}

/** One job's process tree as the supervisor sees it: its members, usage and limit checks. */
export class ProcessTree implements TreeRoot {
  readonly known = new Map<number, Member>();
  readonly token: string | null;
  readonly checkIntervalMs: number;
  private readonly startedAt = performance.now();
  private exitedCpuTicks = 0;
  private measured = false;
  private memoryBytes = 0;
  private peakMemoryBytes = 0;
  private processes = 0;
  private scanMemoryBytes = 0;
  private scanProcesses = 0;
  /** Size and time of change of each output file at the last check. */
  private outputMarks: string[];
  private lastOutputAt = this.startedAt;
  private breached = false;

  constructor(
    /** Pid of the root process, also its process group id. */
    readonly pid: number,
    private readonly options: TreeOptions,
  ) {
    this.checkIntervalMs = Math.max(
      MIN_CHECK_INTERVAL_MS,
      options.limits?.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS,
    );
    this.outputMarks = options.outputFiles.map(() => "");
    this.token = options.token ?? null;
    const startTime = processStartTime(pid);
    if (startTime !== null) this.known.set(pid, { startTime, cpuTicks: 0, seenInScan: 0 });
  }

  /**
   * Usage as of the last scan. `memoryBytes` is the last measurement of a non-empty tree, so the
   * final usage of an ended job still says how much it held at the end.
   */
  usage(): ResourceUsage {
    if (!this.measured) return { memoryBytes: null, peakMemoryBytes: null, cpuSeconds: null, processes: 0 };
    let ticks = this.exitedCpuTicks;
    for (const member of this.known.values()) ticks += member.cpuTicks;
    return {
      memoryBytes: this.memoryBytes,
      peakMemoryBytes: this.peakMemoryBytes,
      cpuSeconds: ticks / systemConstants().clockTicks,
      processes: this.processes,
    };
  }

  /** Processes of the tree alive at the last scan. */
  get processCount(): number {
    return this.processes;
  }

  /**
   * Sends `signal` to the root's process group and to every known member still alive. Each
   * member's start time is checked just before, so a recycled pid is never hit.
   */
  signal(signal: NodeJS.Signals): void {
    sendSignal(-this.pid, signal);
    for (const [pid, member] of this.known) {
      if (processStartTime(pid) === member.startTime) sendSignal(pid, signal);
    }
  }

  /** Adds row `row` of a scan to the tree. */
  record(scan: number, table: ProcessTable, row: number): void {
    const pid = table.pid[row] ?? 0;
    const startTime = table.startTime[row] ?? 0;
    const cpuTicks = table.cpuTicks[row] ?? 0;
    let member = this.known.get(pid);
    if (member && member.startTime !== startTime) {
      this.exitedCpuTicks += member.cpuTicks; // the pid was recycled within the tree
      member = undefined;
    }
    if (member) {
      member.cpuTicks = Math.max(member.cpuTicks, cpuTicks);
      member.seenInScan = scan;
    } else this.known.set(pid, { startTime, cpuTicks, seenInScan: scan });
    this.scanMemoryBytes += table.rssBytes[row] ?? 0;
    this.scanProcesses++;
  }

  /** Closes scan `scan`: members it did not see have exited; their CPU time is kept. */
  settle(scan: number): void {
    for (const [pid, member] of this.known) {
      if (member.seenInScan === scan) continue;
      this.exitedCpuTicks += member.cpuTicks;
      this.known.delete(pid);
    }
    this.measured ||= this.scanProcesses > 0;
    if (this.scanProcesses > 0) this.memoryBytes = this.scanMemoryBytes;
    this.peakMemoryBytes = Math.max(this.peakMemoryBytes, this.scanMemoryBytes);
    this.processes = this.scanProcesses;
    this.scanMemoryBytes = 0;
    this.scanProcesses = 0;
  }

  /** Compares the last measurement with the limits; reports the first breach once. */
  checkLimits(now: number): void {
    const limits = this.options.limits;
    if (!limits || this.breached) return;
    if (limits.stallSeconds !== null) this.noteOutput(now);
    const reason = limitBreach(
      {
        memoryBytes: this.measured ? this.memoryBytes : null,
        elapsedSeconds: (now - this.startedAt) / 1000,
        silentSeconds: (now - this.lastOutputAt) / 1000,
      },
      limits,
    );
    if (reason === null) return;
    this.breached = true;
    this.options.onBreach(reason);
  }

  private noteOutput(now: number): void {
    this.options.outputFiles.forEach((file, i) => {
      // Size and time of change together: a log at its limit keeps its size while its tail turns over.
      const stat = statSync(file, { throwIfNoEntry: false });
      const mark = stat ? `${stat.size}@${stat.mtimeMs}` : "";
      if (mark === this.outputMarks[i]) return;
      this.outputMarks[i] = mark;
      this.lastOutputAt = now;
    });
  }
}

/**
 * Runs the checks of all watched trees from one timer, at the shortest check interval among
 * them; no timer while nothing is watched, and the timer never keeps the process alive.
 */
export class ProcessSupervisor {
  private readonly table = new ProcessTable(undefined, processToken);
  private readonly trees = new Set<ProcessTree>();
  /**
   * Tokens of trees ended from their subreaper's descendants alone: the next full scan kills any
   * other holder of them (a process that got out from under the subreaper), until one finds none.
   */
  private readonly lateSweep = new Set<string>();
  private scanNumber = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerDueAt = Number.POSITIVE_INFINITY;

  constructor(
    /**
     * The process under which every live process of every job is found, if there is one: the
     * launcher when it is a child subreaper (orphans of a job are re-parented to it, not to
     * init), as pid and start time; null when it is not, or not running.
     */
    private readonly subreaper: () => { pid: number; startTime: number } | null = () => null,
  ) {}

  /** Starts watching the tree of the job whose root process is `rootPid`. */
  watch(rootPid: number, options: TreeOptions): ProcessTree {
    const tree = new ProcessTree(rootPid, options);
    this.trees.add(tree);
    this.schedule();
    return tree;
  }

  /** Measures the tree now, then sends it `signal` (so processes started since the last check are hit too). */
  signal(tree: ProcessTree, signal: NodeJS.Signals): void {
    this.measure([tree]);
    tree.signal(signal);
  }

  /**
   * Ends a tree whose root has exited: kills (SIGKILL) what is left of it — group members,
   * known members that escaped the group, holders of its token — until none is alive, then
   * stops watching it.
   */
  async end(tree: ProcessTree): Promise<void> {
    this.trees.delete(tree);
    this.schedule();
    const deadline = performance.now() + END_TIMEOUT_MS;
    for (;;) {
      const partial = this.measureUnderSubreaper(tree);
      if (!partial) this.measure([tree]);
      if (tree.processCount === 0 || performance.now() > deadline) {
        // Only the subreaper's descendants were looked at: a holder of the token elsewhere (one
        // re-parented during the walk, one started by a daemon) is found by the next full scan.
        if (partial && tree.token) this.lateSweep.add(tree.token);
        this.schedule();
        return;
      }
      tree.signal("SIGKILL");
      await delay(END_POLL_MS);
    }
  }

  /** Stops the timer; trees are no longer watched. */
  close(): void {
    this.sweepLate(false);
    this.trees.clear();
    this.schedule();
    this.table.close();
  }

  /**
   * Measures `tree` from the processes under the subreaper only: a few, where a full scan reads
   * every process of the machine. False if there is no subreaper or its children cannot be read.
   */
  private measureUnderSubreaper(tree: ProcessTree): boolean {
    const subreaper = this.subreaper();
    if (subreaper === null || !this.table.scanDescendants(subreaper.pid)) return false;
    // A pid given to another process since would have shown that process's children.
    if (processStartTime(subreaper.pid) !== subreaper.startTime) return false;
    this.assign([tree]);
    return true;
  }

  /** One scan of `/proc`, shared by `trees`. */
  private measure(trees: readonly ProcessTree[]): void {
    if (trees.length === 0) return;
    this.table.scan();
    this.assign(trees);
  }

  /** Gives each process of the table to its tree, and closes the scan. */
  private assign(trees: readonly ProcessTree[]): void {
    const scan = ++this.scanNumber;
    const owner = assignTrees(this.table, trees);
    for (let row = 0; row < this.table.count; row++) {
      const tree = trees[owner[row] ?? -1];
      tree?.record(scan, this.table, row);
    }
    for (const tree of trees) tree.settle(scan);
  }

  private tick(): void {
    this.timer = null;
    this.timerDueAt = Number.POSITIVE_INFINITY;
    this.measure([...this.trees]);
    this.sweepLate(this.trees.size > 0);
    const now = performance.now();
    for (const tree of this.trees) tree.checkLimits(now);
    this.schedule();
  }

  /**
   * Kills (SIGKILL) every process of a full scan that holds a token of `lateSweep`; a token is
   * dropped once a scan finds no holder of it. `scanned`: the table holds a full scan just taken.
   */
  private sweepLate(scanned: boolean): void {
    if (this.lateSweep.size === 0) return;
    if (!scanned) this.table.scan();
    const holding = new Set<string>();
    for (let row = 0; row < this.table.count; row++) {
      const token = this.table.tokenAt(row);
      if (token === null || !this.lateSweep.has(token)) continue;
      holding.add(token);
      sendSignal(this.table.pid[row] ?? 0, "SIGKILL");
    }
    for (const token of this.lateSweep) if (!holding.has(token)) this.lateSweep.delete(token);
  }

  private schedule(): void {
    if (this.trees.size === 0 && this.lateSweep.size === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.timerDueAt = Number.POSITIVE_INFINITY;
      return;
    }
    let interval = this.lateSweep.size > 0 ? DEFAULT_CHECK_INTERVAL_MS : Number.POSITIVE_INFINITY;
    for (const tree of this.trees) interval = Math.min(interval, tree.checkIntervalMs);
    const due = performance.now() + interval;
    if (this.timer && this.timerDueAt <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), interval).unref();
    this.timerDueAt = due;
  }
}

/** What a check measured of one tree. */
export interface TreeMeasurement {
  /** Resident memory of the tree, in bytes; null if not measured yet. */
  memoryBytes: number | null;
  elapsedSeconds: number;
  /** Seconds since the output files last grew. */
  silentSeconds: number;
}

/**
 * The first limit a measurement exceeds, as written after `killed: ` in the stderr file
 * (`memory 12.3 GiB > limit 11.0 GiB`, `wall time 61.2 min > limit 60.0 min`,
 * `no output for 10.1 min > limit 10.0 min`), or null. Pure.
 */
export function limitBreach(measured: TreeMeasurement, limits: ExecutionLimits): string | null {
  const { memoryBytes, elapsedSeconds, silentSeconds } = measured;
  if (limits.memoryBytes !== null && memoryBytes !== null && memoryBytes > limits.memoryBytes)
    return `memory ${exceeds(memoryBytes, limits.memoryBytes, formatBytes)}`;
  if (limits.wallSeconds !== null && elapsedSeconds > limits.wallSeconds)
    return `wall time ${exceeds(elapsedSeconds, limits.wallSeconds, durationIn(limits.wallSeconds))}`;
  if (limits.stallSeconds !== null && silentSeconds > limits.stallSeconds)
    return `no output for ${exceeds(silentSeconds, limits.stallSeconds, durationIn(limits.stallSeconds))}`;
  return null;
}

/** `value > limit limit`, with as many decimals as it takes for the two to differ (one at least). */
function exceeds(value: number, limit: number, format: (n: number, digits: number) => string): string {
  let digits = 1;
  while (digits < 4 && format(value, digits) === format(limit, digits)) digits++;
  return `${format(value, digits)} > limit ${format(limit, digits)}`;
}

/** A formatter of durations in the unit that suits `limitSeconds`, so both sides of a message share it. */
function durationIn(limitSeconds: number): (seconds: number, digits: number) => string {
  return (seconds, digits) => formatDuration(seconds, digits, limitSeconds);
}

/**
 * A duration for people: seconds below two minutes, minutes below two hours, else hours, with
 * `digits` decimals (`45.0 s`, `61.2 min`, `3.5 h`). The unit follows `scaleSeconds` (default:
 * the duration itself). Pure.
 */
export function formatDuration(seconds: number, digits = 1, scaleSeconds = seconds): string {
  if (scaleSeconds < 120) return `${seconds.toFixed(digits)} s`;
  if (scaleSeconds < 7200) return `${(seconds / 60).toFixed(digits)} min`;
  return `${(seconds / 3600).toFixed(digits)} h`;
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
