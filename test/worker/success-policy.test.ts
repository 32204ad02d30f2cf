import assert from "node:assert/strict";
import { test } from "node:test";
import {
  agentKillLine,
  type FinishedScript,
  type JobOutcome,
  judgeOutcome,
  limitKill,
  successPolicy,
} from "../../src/worker/success-policy.ts";
import { SNS_PRODUCTION_EXCEPTIONS } from "../fixtures/sns/exceptions.ts";

const finished = (over: Partial<FinishedScript>): FinishedScript => ({
  exitCode: 0,
  signal: null,
  cancelReason: null,
  killReason: null,
  stderr: "",
  stdoutTail: [],
  ...over,
});

const exitCode = successPolicy("exit_code", []);
const sns = (exceptions: string[] = []) => successPolicy("stderr", exceptions);
const agent = (exceptions: string[] = []) => successPolicy("agent", exceptions);
const TRACEBACK =
  'Traceback (most recent call last):\n  File "reduce_CORELLI.py", line 3, in <module>\nRuntimeError: This is an ERROR!\n';

const SNS_PRODUCTION = SNS_PRODUCTION_EXCEPTIONS;

const cases: Array<[string, Partial<FinishedScript>, ReturnType<typeof successPolicy>, JobOutcome]> = [
  // --- exit-code mode (the default) ---
  [
    "exit 0 is success even with stderr noise",
    { stderr: "Warning: something\nError: not really\n" },
    exitCode,
    { ok: true, information: null },
  ],
  [
    "exit 1 names the last stderr line",
    { exitCode: 1, stderr: "a\nValueError: bad\n" },
    exitCode,
    { ok: false, error: "REDUCTION: ValueError: bad (exit code 1)" },
  ],
  [
    "lines of dashes are not the reason",
    { exitCode: 2, stderr: "real reason\n-----\n" },
    exitCode,
    { ok: false, error: "REDUCTION: real reason (exit code 2)" },
  ],
  [
    "no stderr falls back to stdout",
    { exitCode: 1, stdoutTail: ["printed failure"] },
    exitCode,
    { ok: false, error: "REDUCTION: printed failure (exit code 1)" },
  ],
  [
    "a silent failure says so",
    { exitCode: 4 },
    exitCode,
    { ok: false, error: "REDUCTION: script failed with exit code 4 and wrote no error" },
  ],
  [
    "a signal is named",
    { exitCode: null, signal: "SIGSEGV" },
    exitCode,
    { ok: false, error: "REDUCTION: script failed with killed by SIGSEGV and wrote no error" },
  ],
  [
    "a cancel reason wins",
    { exitCode: null, signal: "SIGTERM", cancelReason: "cancelled by alice" },
    exitCode,
    { ok: false, error: "REDUCTION: cancelled by alice" },
  ],
  [
    "a limit's kill reason is the error",
    { exitCode: null, signal: "SIGTERM", killReason: "memory 12.3 GiB > limit 11.0 GiB" },
    sns(["memory"]),
    { ok: false, error: "REDUCTION: killed: memory 12.3 GiB > limit 11.0 GiB" },
  ],
  // --- SNS mode: the agent's own cases (tests/unit/.../test_job_handling.py) ---
  ["SNS: empty stderr is success", { stderr: "" }, sns(), { ok: true, information: null }],
  [
    "SNS: a line without 'Error:' is the error",
    { stderr: "regex not found" },
    sns(),
    { ok: false, error: "REDUCTION: regex not found" },
  ],
  [
    "SNS: the text after 'Error:' is the error",
    { stderr: "Error: regex found" },
    sns(),
    { ok: false, error: "REDUCTION: regex found" },
  ],
  [
    "SNS: an allow-listed error line is information",
    { stderr: "Error: regex found, exception handled" },
    sns(["exception"]),
    { ok: true, information: "regex found, exception handled" },
  ],
  // --- SNS mode: more ---
  [
    "SNS: a Python traceback gives its exception text",
    {
      stderr:
        'Traceback (most recent call last):\n  File "reduce_CORELLI.py", line 3, in <module>\nRuntimeError: This is an ERROR!\n',
    },
    sns(),
    { ok: false, error: "REDUCTION: This is an ERROR!" },
  ],
  [
    "SNS: the last 'Error:' line wins over later plain lines",
    { stderr: "Error: first\nError: second\nsome trailing note\n" },
    sns(),
    { ok: false, error: "REDUCTION: second" },
  ],
  [
    "SNS: production allow-list ignores the proton-charge warning",
    { stderr: "Error: The proton charge is zero\n" },
    sns(SNS_PRODUCTION),
    { ok: true, information: "The proton charge is zero" },
  ],
  [
    "SNS: production allow-list ignores tcmalloc on the last line",
    { stderr: "tcmalloc: large alloc 4294967296 bytes == 0x5 @\n----------\n" },
    sns(SNS_PRODUCTION),
    { ok: true, information: "tcmalloc: large alloc 4294967296 bytes == 0x5 @" },
  ],
  [
    "SNS: an allow-list that does not match leaves the error",
    { stderr: "Error: detector file missing\n" },
    sns(SNS_PRODUCTION),
    { ok: false, error: "REDUCTION: detector file missing" },
  ],
  [
    "SNS: a non-zero exit fails even when stderr is allow-listed",
    { exitCode: 3, stderr: "Error: The proton charge is zero\n" },
    sns(SNS_PRODUCTION),
    { ok: false, error: "REDUCTION: Error: The proton charge is zero (exit code 3)" },
  ],
  [
    "SNS: stderr of only blank lines and dashes is success",
    { stderr: "\n   \n-----\n" },
    sns(),
    { ok: true, information: null },
  ],
  // --- agent mode (stderr with worker.sns_compatible): the agent's texts to the letter ---
  [
    "agent: a raising script (exit 1) reads as the agent reports it, without our exit-code note",
    { exitCode: 1, stderr: TRACEBACK },
    agent(),
    { ok: false, error: "REDUCTION: This is an ERROR!" },
  ],
  [
    "agent: an allow-listed line is success with the line as information, whatever the exit code",
    { exitCode: 3, stderr: "Error: regex found, exception handled\n" },
    agent(["exception"]),
    { ok: true, information: "regex found, exception handled" },
  ],
  ["agent: empty stderr and exit 0 is success", { stderr: "" }, agent(), { ok: true, information: null }],
  [
    "agent: a line without 'Error:' is the error",
    { stderr: "regex not found" },
    agent(),
    { ok: false, error: "REDUCTION: regex not found" },
  ],
  [
    "agent: a silent crash is still a failure (the agent would call it a success)",
    { exitCode: 4 },
    agent(),
    { ok: false, error: "REDUCTION: script failed with exit code 4 and wrote no error" },
  ],
  [
    "agent: a limit's kill reads as the agent's line",
    {
      exitCode: null,
      signal: "SIGTERM",
      stderr: "Error: half done\n",
      killReason: "wall time 1.6 s > limit 1.2 s",
      killLine: "Time limit exceeded (1.600000 s > 1.200000 s). Terminating job.",
    },
    agent(),
    { ok: false, error: "REDUCTION: Time limit exceeded (1.600000 s > 1.200000 s). Terminating job." },
  ],
  [
    "agent: a kill the agent has no limit for keeps our reason",
    { exitCode: null, signal: "SIGTERM", killReason: "no output for 10.1 min > limit 10.0 min" },
    agent(),
    { ok: false, error: "REDUCTION: killed: no output for 10.1 min > limit 10.0 min" },
  ],
];

for (const [name, input, policy, expected] of cases) {
  test(`success policy: ${name}`, () => {
    assert.deepEqual(judgeOutcome(finished(input), policy), expected);
  });
}

test("the agent's kill lines, numbers as Python's {:2f}", () => {
  const gib = 1024 ** 3;
  assert.equal(
    agentKillLine({ kind: "memory", measured: 0.8125 * gib, limit: 0.24 * gib }),
    "Total memory usage exceeded limit (0.812500 GiB > 0.240000 GiB). Terminating job.",
  );
  assert.equal(
    agentKillLine({ kind: "time", measured: 1.6042, limit: 1.2 }),
    "Time limit exceeded (1.604200 s > 1.200000 s). Terminating job.",
  );
});

const killed = (peak: number | null, seconds: number, killReason: string | null = "some limit") => ({
  killReason,
  startedAt: new Date(0),
  finishedAt: new Date(seconds * 1000),
  usage: { peakMemoryBytes: peak },
});
const killCases: Array<[string, ReturnType<typeof killed>, unknown]> = [
  [
    "a peak over the memory limit is the memory kill",
    killed(900, 5),
    { kind: "memory", measured: 900, limit: 500 },
  ],
  [
    "else a run past the wall time is the time kill",
    killed(100, 61),
    { kind: "time", measured: 61, limit: 60 },
  ],
  ["a kill within both limits (a stall) is none of the agent's", killed(100, 5), null],
  ["no kill, no line", killed(900, 61, null), null],
];
for (const [name, result, expected] of killCases) {
  test(`limit kill: ${name}`, () => {
    assert.deepEqual(limitKill(result, { memoryBytes: 500, wallSeconds: 60 }), expected);
  });
}
