/**
 * A snapshot of this machine's processes read from `/proc`, and which of them belong to which
 * job's process tree. The supervisor takes one snapshot per check for all running jobs, so the
 * scan is kept lean: one reused buffer, typed arrays instead of an object per process, kernel
 * threads and zombies dropped as soon as their parent or state is known.
 *
 * `/proc/<pid>/task/<tid>/children` is not available on every kernel (CONFIG_PROC_CHILDREN), so
 * trees are built from every process's parent pid; where it is, `scanDescendants` reads only the
 * processes under one ancestor (the launcher, a child subreaper: see process-supervisor.ts).
 */
import { execFileSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";

/** The fields of `/proc/<pid>/stat` that supervision needs. */
export interface ProcStat {
  pid: number;
  /** Process state letter (`R`, `S`, `D`, `Z`…). */
  state: string;
  ppid: number;
  pgid: number;
  /** Time the process started, in clock ticks since boot; with the pid, it names a process for good. */
  startTime: number;
  /** Resident set size, in pages. */
  rssPages: number;
  /** User plus system CPU time, in clock ticks. */
  cpuTicks: number;
  /** User plus system CPU time of the children it has waited for, in clock ticks. */
  reapedTicks: number;
}

/** Field numbers (1-based, as in proc(5)) of the values read from `/proc/<pid>/stat`. */
const PPID = 4;
const PGRP = 5;
const UTIME = 14;
const STIME = 15;
const CUTIME = 16;
const CSTIME = 17;
const STARTTIME = 22;
const RSS = 24;

const SPACE = 0x20;
const CLOSE_PAREN = 0x29;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Parses the first `length` bytes of a `/proc/<pid>/stat` file into `into`; false if they are not
 * a stat line. The command name sits in parentheses and may itself hold spaces and parentheses,
 * so the fields after it are found from the last `)`. Works on bytes to spare a string per process.
 */
export function parseProcStat(bytes: Uint8Array, length: number, into: ProcStat): boolean {
  let close = length - 1;
  while (close > 0 && bytes[close] !== CLOSE_PAREN) close--;
  if (close <= 0 || bytes[close + 1] !== SPACE || bytes[close + 3] !== SPACE) return false;
  let pid = 0;
  for (let p = 0; p < close && bytes[p] !== SPACE; p++) pid = pid * 10 + ((bytes[p] ?? 0) - ZERO);
  into.pid = pid;
  into.state = String.fromCharCode(bytes[close + 2] ?? 0);
  let p = close + 4;
  let utime = 0;
  let cutime = 0;
  for (let field = PPID; field <= RSS; field++) {
    if (p >= length) return false;
    const negative = bytes[p] === MINUS;
    if (negative) p++;
    let value = 0;
    for (let c = bytes[p] ?? 0; c >= ZERO && c <= NINE; c = bytes[++p] ?? 0) value = value * 10 + (c - ZERO);
    if (negative) value = -value;
    p++; // the space after the field
    if (field === PPID) into.ppid = value;
    else if (field === PGRP) into.pgid = value;
    else if (field === UTIME) utime = value;
    else if (field === STIME) into.cpuTicks = utime + value;
    else if (field === CUTIME) cutime = value;
    else if (field === CSTIME) into.reapedTicks = cutime + value;
    else if (field === STARTTIME) into.startTime = value;
    else if (field === RSS) into.rssPages = value;
  }
  return true;
}

/** Pid of kthreadd, the parent of every kernel thread. */
const KTHREADD = 2;

/** Holds a whole stat line: 52 fields of at most 20 digits and a command name of at most 64 bytes. */
const STAT_BUFFER_BYTES = 2048;

/**
 * Stat files kept open between scans, at most. Reading an open `/proc/<pid>/stat` again from
 * offset 0 gives fresh values, for a third of the system calls of open + read + close; a file
 * whose process has ended fails to read (ESRCH), even when its pid has been given to a new
 * process, so a kept file never shows another process. Bounded so that a busy machine does not
 * cost the worker more descriptors than this.
 */
const MAX_OPEN_STAT_FILES = 256;

/**
 * The processes of this machine at the last `scan()`, without kernel threads and zombies, as
 * parallel columns indexed 0..count-1. Columns are reused between scans.
 */
export class ProcessTable {
  count = 0;
  pid = new Int32Array(256);
  ppid = new Int32Array(256);
  pgid = new Int32Array(256);
  startTime = new Float64Array(256);
  rssBytes = new Float64Array(256);
  cpuTicks = new Float64Array(256);
  private readonly rowOf = new Map<number, number>();
  /** Job tokens read so far, by pid (with the start time that names the process): read once per process. */
  private readonly tokens = new Map<number, { startTime: number; token: string | null }>();
  private readonly buffer = Buffer.alloc(STAT_BUFFER_BYTES);
  /** Open `/proc/<pid>/stat` files of the processes of the last scan (see MAX_OPEN_STAT_FILES). */
  private readonly statFiles = new Map<number, number>();
  /** Pids listed by the scan under way, to close the files of processes gone since the last one. */
  private listed = new Set<number>();
  private readonly stat: ProcStat = {
    pid: 0,
    state: "",
    ppid: 0,
    pgid: 0,
    startTime: 0,
    rssPages: 0,
    cpuTicks: 0,
    reapedTicks: 0,
  };

  constructor(
    private readonly pageSize = systemConstants().pageSize,
    /** Reads a process's job token (`job-token.ts`); the default reads none. */
    private readonly readToken: (pid: number) => string | null = () => null,
  ) {}

  /** The job token of row `row`'s process, read once per process and remembered. */
  tokenAt(row: number): string | null {
    const pid = this.pid[row] ?? 0;
    const startTime = this.startTime[row] ?? 0;
    const cached = this.tokens.get(pid);
    if (cached?.startTime === startTime) return cached.token;
    const token = this.readToken(pid);
    this.tokens.set(pid, { startTime, token });
    return token;
  }

  /** Row of `pid`, if the process was there at the last scan. */
  rowOfPid(pid: number): number | undefined {
    return this.rowOf.get(pid);
  }

  /** Rereads every process of `/proc`. */
  scan(): void {
    this.count = 0;
    this.rowOf.clear();
    this.listed.clear();
    for (const name of readdirSync("/proc")) {
      const first = name.charCodeAt(0);
      if (first < ZERO || first > NINE) continue;
      const stat = this.readStat(name);
      if (!stat || stat.state === "Z" || stat.ppid === KTHREADD || stat.pid === KTHREADD) continue;
      this.add(stat);
    }
    for (const [pid, fd] of this.statFiles) {
      if (this.listed.has(pid)) continue;
      this.statFiles.delete(pid);
      closeQuietly(fd);
    }
    for (const [pid, { startTime }] of this.tokens) {
      const row = this.rowOf.get(pid);
      if (row === undefined || this.startTime[row] !== startTime) this.tokens.delete(pid);
    }
  }

  /**
   * Reads only the descendants of process `ancestor` (children first, through
   * `/proc/<pid>/task/<tid>/children`), not the whole machine. False, with the table left
   * partial, where a children file cannot be read for `ancestor` (a kernel without
   * CONFIG_PROC_CHILDREN, or `ancestor` gone): the caller then scans all of `/proc`.
   */
  scanDescendants(ancestor: number): boolean {
    this.count = 0;
    this.rowOf.clear();
    const pending = childrenOf(ancestor);
    if (pending === null) return false;
    for (let next = 0; next < pending.length; next++) {
      const pid = pending[next] ?? 0;
      const stat = this.readStat(String(pid));
      if (!stat || stat.state === "Z" || this.rowOf.has(pid)) continue;
      this.add(stat);
      for (const child of childrenOf(pid) ?? []) pending.push(child);
    }
    return true;
  }

  /** Releases the stat files kept open between scans. */
  close(): void {
    for (const fd of this.statFiles.values()) closeQuietly(fd);
    this.statFiles.clear();
  }

  /** Reads one process's stat into the shared scratch record; null if it is gone or unreadable. */
  private readStat(name: string): ProcStat | null {
    const pid = Number(name);
    this.listed.add(pid);
    const kept = this.statFiles.get(pid);
    if (kept !== undefined) {
      const stat = this.parseFrom(kept);
      if (stat) return stat;
      // Ended (ESRCH), even if its pid is someone else's now: forget the file, open the pid anew.
      this.statFiles.delete(pid);
      closeQuietly(kept);
    }
    let fd: number;
    try {
      fd = openSync(`/proc/${name}/stat`, "r");
    } catch {
      return null; // exited since the directory was listed
    }
    const stat = this.parseFrom(fd);
    if (stat && this.statFiles.size < MAX_OPEN_STAT_FILES) this.statFiles.set(pid, fd);
    else closeQuietly(fd);
    return stat;
  }

  /** Reads a stat file from its start into the scratch record; null if it cannot be read or parsed. */
  private parseFrom(fd: number): ProcStat | null {
    try {
      const length = readSync(fd, this.buffer, 0, STAT_BUFFER_BYTES, 0);
      return parseProcStat(this.buffer, length, this.stat) ? this.stat : null;
    } catch {
      return null;
    }
  }

  /** Adds one process; `scan` does this for each process of `/proc`, tests for made-up ones. */
  add(stat: ProcStat): void {
    if (this.count === this.pid.length) this.grow();
    const row = this.count++;
    this.pid[row] = stat.pid;
    this.ppid[row] = stat.ppid;
    this.pgid[row] = stat.pgid;
    this.startTime[row] = stat.startTime;
    this.rssBytes[row] = stat.rssPages * this.pageSize;
    this.cpuTicks[row] = stat.cpuTicks;
    this.rowOf.set(stat.pid, row);
  }

  private grow(): void {
    const size = this.pid.length * 2;
    const widen = <T extends Int32Array | Float64Array>(column: T, make: (n: number) => T): T => {
      const wider = make(size);
      wider.set(column);
      return wider;
    };
    this.pid = widen(this.pid, (n) => new Int32Array(n));
    this.ppid = widen(this.ppid, (n) => new Int32Array(n));
    this.pgid = widen(this.pgid, (n) => new Int32Array(n));
    this.startTime = widen(this.startTime, (n) => new Float64Array(n));
    this.rssBytes = widen(this.rssBytes, (n) => new Float64Array(n));
    this.cpuTicks = widen(this.cpuTicks, (n) => new Float64Array(n));
  }
}

/** The children of every thread of process `pid`; null if its children files cannot be read. */
export function childrenOf(pid: number): number[] | null {
  const children: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${tid}/children`, "latin1");
      for (const child of list.split(" ")) if (child !== "" && child !== "\n") children.push(Number(child));
    }
  } catch {
    return null;
  }
  return children;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** What identifies one job's process tree. */
export interface TreeRoot {
  /** Pid of the job's first process, which leads its own process group. */
  pid: number;
  /**
   * Processes seen in the tree before, pid → start time (the root included). A process that left
   * the group (`setsid`) and lost its parent (re-parented to init) is still found through this.
   */
  known: ReadonlyMap<number, { readonly startTime: number }>;
  /** The job's token (`job-token.ts`): a process that carries it is in the tree however it detached. */
  token?: string | null;
}

/**
 * Which tree each process of the table belongs to: an index into `roots`, or -1. A process is in
 * a tree if it is a known member (same pid and start time), is in the root's process group,
 * carries the tree's token, or descends from a process that is in the tree. Pure but for the
 * table's token cache; memoised so the cost is linear in the table.
 */
export function assignTrees(table: ProcessTable, roots: readonly TreeRoot[]): Int32Array {
  const UNKNOWN = -2;
  const owner = new Int32Array(table.count).fill(UNKNOWN);
  const byGroup = new Map(roots.map((root, tree) => [root.pid, tree]));
  const byToken = new Map<string, number>();
  roots.forEach((root, tree) => {
    if (root.token) byToken.set(root.token, tree);
  });
  const directOwner = (row: number): number => {
    const pid = table.pid[row] ?? 0;
    for (let tree = 0; tree < roots.length; tree++) {
      if (roots[tree]?.known.get(pid)?.startTime === table.startTime[row]) return tree;
    }
    const inGroup = byGroup.get(table.pgid[row] ?? 0);
    if (inGroup !== undefined) return inGroup;
    if (byToken.size === 0) return UNKNOWN;
    const token = table.tokenAt(row);
    return (token !== null ? byToken.get(token) : undefined) ?? UNKNOWN;
  };
  const path: number[] = [];
  for (let row = 0; row < table.count; row++) {
    let at: number | undefined = row;
    let found = -1;
    // Walk up through parents until a process whose tree is known; at most `count` steps, since
    // a snapshot taken while pids are recycled could in theory contain a cycle.
    while (at !== undefined && path.length <= table.count) {
      const settled = owner[at] ?? UNKNOWN;
      if (settled !== UNKNOWN) {
        found = settled;
        break;
      }
      const direct = directOwner(at);
      if (direct !== UNKNOWN) {
        found = direct;
        owner[at] = direct;
        break;
      }
      path.push(at);
      at = table.rowOfPid(table.ppid[at] ?? 0);
    }
    for (const step of path) owner[step] = found;
    path.length = 0;
  }
  return owner;
}

/** The stat fields of one process, or null if it is gone or a zombie. */
export function readProcStat(pid: number): ProcStat | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  const stat: ProcStat = {
    pid: 0,
    state: "",
    ppid: 0,
    pgid: 0,
    startTime: 0,
    rssPages: 0,
    cpuTicks: 0,
    reapedTicks: 0,
  };
  if (!parseProcStat(bytes, bytes.length, stat) || stat.state === "Z") return null;
  return stat;
}

/** Start time of process `pid` (clock ticks since boot), or null if it is gone or a zombie. */
export function processStartTime(pid: number): number | null {
  return readProcStat(pid)?.startTime ?? null;
}

/** Kernel constants that turn `/proc` numbers into bytes and seconds. */
export interface SystemConstants {
  /** Bytes per page, for the rss field. */
  pageSize: number;
  /** Clock ticks per second (USER_HZ), for CPU times. */
  clockTicks: number;
}

let constants: SystemConstants | null = null;

/**
 * Page size and clock ticks, found once. The page size is derived from this process's own
 * resident size counted in pages (`statm`) and in kB (`status`), rounded to a power of two, so no
 * helper program is needed; clock ticks come from `getconf CLK_TCK` (100 on Linux if that fails).
 */
export function systemConstants(): SystemConstants {
  constants ??= { pageSize: pageSizeFromProc(), clockTicks: clockTicksFromGetconf() };
  return constants;
}

function pageSizeFromProc(): number {
  try {
    const residentPages = Number(readFileSync("/proc/self/statm", "utf8").split(" ")[1]);
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
    return pageSizeFromCounts(residentPages, rssKiB);
  } catch {
    return 4096;
  }
}

/**
 * The page size implied by one resident size counted in pages and in kB. The two are read at
 * slightly different moments, so the ratio is rounded to the nearest power of two. Pure.
 */
export function pageSizeFromCounts(residentPages: number, rssKiB: number): number {
  if (!(residentPages > 0 && rssKiB > 0)) return 4096;
  return 2 ** Math.round(Math.log2((rssKiB * 1024) / residentPages));
}

function clockTicksFromGetconf(): number {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 2000 }).trim());
    return ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}
