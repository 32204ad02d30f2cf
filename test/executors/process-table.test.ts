import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import {
  assignTrees,
  ProcessTable,
  type ProcStat,
  pageSizeFromCounts,
  parseProcStat,
  processStartTime,
  systemConstants,
} from "../../src/executors/process-table.ts";
import { waitFor } from "../helpers/wait-for.ts";

function parse(line: string): ProcStat | null {
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
  const bytes = Buffer.from(line);
  return parseProcStat(bytes, bytes.length, stat) ? stat : null;
}

/** A stat line as the kernel writes it, with the fields supervision reads set. */
function statLine(
  comm: string,
  f: {
    pid: number;
    ppid: number;
    pgid: number;
    utime: number;
    stime: number;
    cutime?: number;
    cstime?: number;
  },
) {
  const after = [
    f.ppid,
    f.pgid,
    5830,
    0,
    -1,
    4194560,
    1,
    0,
    0,
    0,
    f.utime,
    f.stime,
    f.cutime ?? 0,
    f.cstime ?? 0,
    20,
    0,
    1,
    0,
    56495,
  ];
  return `${f.pid} (${comm}) S ${after.join(" ")} 3133440 417 18446744073709551615 94804945444864 0 0\n`;
}

describe("parseProcStat", () => {
  test("reads the fields after the command name", () => {
    const stat = parse(
      statLine("sleep", { pid: 8108, ppid: 8101, pgid: 8101, utime: 7, stime: 5, cutime: 3, cstime: 4 }),
    );
    assert.deepEqual(stat, {
      pid: 8108,
      state: "S",
      ppid: 8101,
      pgid: 8101,
      startTime: 56495,
      rssPages: 417,
      cpuTicks: 12,
      reapedTicks: 7,
    });
  });

  test("a command name holding spaces and parentheses does not shift the fields", () => {
    const stat = parse(statLine("evil) S 1 1 (x", { pid: 42, ppid: 7, pgid: 42, utime: 1, stime: 2 }));
    assert.equal(stat?.pid, 42);
    assert.equal(stat?.ppid, 7);
    assert.equal(stat?.pgid, 42);
    assert.equal(stat?.rssPages, 417);
  });

  test("a truncated or foreign line is refused", () => {
    assert.equal(parse("123 (cut short"), null);
    assert.equal(parse("123 (sh) S 1 2 3"), null);
    assert.equal(parse(""), null);
  });

  test("this process's own stat file parses to its own pid and parent", () => {
    const table = new ProcessTable();
    table.scan();
    const row = table.rowOfPid(process.pid);
    assert.notEqual(row, undefined);
    assert.equal(table.ppid[row ?? -1], process.ppid);
    assert.ok((table.rssBytes[row ?? -1] ?? 0) > 10 * 1024 * 1024, "node holds more than 10 MiB");
    assert.equal(table.startTime[row ?? -1], processStartTime(process.pid));
  });
});

describe("ProcessTable.scan, rescanning", () => {
  // The stat files of a scan are kept open and read again from their start by the next scans.
  test("each scan reads fresh values, and a process that ended is gone from the next scan", async () => {
    const busy = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
    const table = new ProcessTable();
    try {
      const pid = busy.pid ?? -1;
      await waitFor(() => {
        table.scan();
        return table.rowOfPid(pid) !== undefined;
      }, "the busy child in a scan");
      const ticks = () => table.cpuTicks[table.rowOfPid(pid) ?? -1] ?? -1;
      const first = ticks();
      await waitFor(() => {
        table.scan();
        return ticks() > first;
      }, "its CPU time to grow from one scan to the next");
      busy.kill("SIGKILL");
      await once(busy, "exit");
      table.scan();
      assert.equal(table.rowOfPid(pid), undefined);
    } finally {
      busy.kill("SIGKILL");
      table.close();
    }
  });
});

describe("assignTrees", () => {
  // init(1) ── a(10, group 10) ── b(11, group 10) ── c(12, own session after setsid)
  //                                                    └─ d(13, group 12)
  //        ── e(20, group 10, escaped: re-parented to init but still in the group)
  //        ── f(30, own session, escaped and re-parented to init; known from before)
  //        ── g(40, unrelated)
  // a second job: h(50, group 50) ── i(51, group 50)
  const rows: [pid: number, ppid: number, pgid: number][] = [
    [1, 0, 1],
    [10, 1, 10],
    [11, 10, 10],
    [12, 11, 12],
    [13, 12, 12],
    [20, 1, 10],
    [30, 1, 30],
    [40, 1, 40],
    [50, 1, 50],
    [51, 50, 50],
  ];
  const table = new ProcessTable(4096);
  for (const [pid, ppid, pgid] of rows) {
    table.add({
      pid,
      state: "S",
      ppid,
      pgid,
      startTime: pid * 100,
      rssPages: 1,
      cpuTicks: 0,
      reapedTicks: 0,
    });
  }
  const treeOf = (owner: Int32Array, pid: number) => owner[table.rowOfPid(pid) ?? -1];

  test("descendants, group members and known escaped processes belong to the job", () => {
    const known = new Map([[30, { startTime: 3000 }]]);
    const owner = assignTrees(table, [
      { pid: 10, known },
      { pid: 50, known: new Map() },
    ]);
    for (const pid of [10, 11, 12, 13, 20, 30]) assert.equal(treeOf(owner, pid), 0, `pid ${pid}`);
    for (const pid of [50, 51]) assert.equal(treeOf(owner, pid), 1, `pid ${pid}`);
    for (const pid of [1, 40]) assert.equal(treeOf(owner, pid), -1, `pid ${pid}`);
  });

  test("a known pid with another start time is a recycled pid, not a member", () => {
    const owner = assignTrees(table, [{ pid: 10, known: new Map([[30, { startTime: 1234 }]]) }]);
    assert.equal(treeOf(owner, 30), -1);
  });

  test("a process that carries a tree's token belongs to it, however it detached", () => {
    const tokens = new Map([
      [40, "job-b"],
      [30, "job-a"],
    ]);
    const withTokens = new ProcessTable(4096, (pid) => tokens.get(pid) ?? null);
    for (const [pid, ppid, pgid] of rows) {
      withTokens.add({
        pid,
        state: "S",
        ppid,
        pgid,
        startTime: pid * 100,
        rssPages: 1,
        cpuTicks: 0,
        reapedTicks: 0,
      });
    }
    const owner = assignTrees(withTokens, [
      { pid: 10, known: new Map(), token: "job-a" },
      { pid: 50, known: new Map(), token: "job-b" },
    ]);
    const of = (pid: number) => owner[withTokens.rowOfPid(pid) ?? -1];
    assert.equal(of(30), 0);
    assert.equal(of(40), 1);
    assert.equal(of(1), -1);
  });

  test("an escaped process nobody remembers is not claimed", () => {
    const owner = assignTrees(table, [{ pid: 10, known: new Map() }]);
    assert.equal(treeOf(owner, 30), -1);
  });
});

describe("system constants", () => {
  test("the page size implied by pages and kB is a power of two even when the counts drift", () => {
    assert.equal(pageSizeFromCounts(1000, 4000), 4096);
    assert.equal(pageSizeFromCounts(1000, 4010), 4096);
    assert.equal(pageSizeFromCounts(1000, 16_000), 16_384);
    assert.equal(pageSizeFromCounts(0, 4000), 4096);
  });

  test("this machine's values are plausible", () => {
    const { pageSize, clockTicks } = systemConstants();
    assert.ok([4096, 16_384, 65_536].includes(pageSize), `page size ${pageSize}`);
    assert.ok(clockTicks >= 100, `clock ticks ${clockTicks}`);
  });
});
