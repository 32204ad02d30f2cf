import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type SweepInput,
  type SweptReduction,
  type SweptWorker,
  sweepDecision,
} from "../../src/coordinator/sweep-decision.ts";

const MIN = 60_000;
const NOW = Date.parse("2026-11-30T12:00:00Z");
const T = (ms: number) => new Date(NOW + ms).toISOString();

const running: SweptReduction = {
  job_id: "job-1",
  status: "running",
  host: "node1",
  attempts: 1,
  updated_at: NOW - 30 * MIN,
  dispatched_at: NOW - 31 * MIN,
  retry_at: null,
  started_at: NOW - 30 * MIN,
};
/** A job sent, never STARTED. */
const queued: SweptReduction = { ...running, status: "queued", host: null, attempts: 0, started_at: null };
const worker = (over: Partial<SweptWorker> = {}): SweptWorker => ({
  src_name: "node1",
  pid: 100,
  state: "ok",
  last_seen_at: NOW - 2_000,
  running: [],
  waiting: [],
  ...over,
});
const input = (over: Partial<SweepInput> = {}): SweepInput => ({
  reduction: running,
  workers: [],
  queueDepth: 0,
  unheldSince: NOW - 10 * MIN,
  now: NOW,
  graceMs: 5 * MIN,
  settleMs: 15_000,
  maxAttempts: 3,
  startTimeoutMs: 5 * MIN,
  runningFlagMs: 90 * MIN,
  ...over,
});
/** An SNS post-processing agent: its heartbeat lists no jobs. */
const agent = worker({ src_name: "sns2", running: null, waiting: null });
const dead = worker({ state: "dead", last_seen_at: NOW - 3 * MIN, running: ["job-1"] });
/** A live worker elsewhere: heartbeats are arriving. */
const other = worker({ src_name: "node2", pid: 7 });

test("what the sweeper does with an unfinished reduction", () => {
  const cases: Array<[string, SweepInput, string]> = [
    [
      "a live worker running it: held",
      input({ workers: [worker({ running: ["job-1"] })] }),
      "held node1:100",
    ],
    [
      "a draining (stale) worker still running it: held",
      input({ workers: [worker({ state: "stale", running: ["job-1"] })] }),
      "held node1:100",
    ],
    [
      "a live worker holding it for a slot: held, even though its old worker is dead",
      input({ workers: [dead, worker({ src_name: "node2", pid: 7, waiting: ["job-1"] })] }),
      "held node2:7",
    ],
    [
      "its worker stopped sending heartbeats: re-queued as the next attempt",
      input({ workers: [dead, other] }),
      `requeue worker node1:100 stopped sending heartbeats at ${T(-3 * MIN)}; the job was re-queued (attempt 2)`,
    ],
    [
      "its worker stopped cleanly while listing it: re-queued",
      input({ workers: [{ ...dead, state: "stopped" }, other] }),
      `requeue worker node1:100 stopped at ${T(-3 * MIN)}; the job was re-queued (attempt 2)`,
    ],
    [
      "its worker is gone and it had its last attempt: error",
      input({ workers: [dead, other], reduction: { ...running, attempts: 3 } }),
      `error worker node1:100 stopped sending heartbeats at ${T(-3 * MIN)}; marked error after 3 attempts`,
    ],
    [
      "a gone worker listed an earlier attempt, before the job was sent again: only the grace applies",
      input({
        workers: [dead, other],
        reduction: {
          ...running,
          status: "queued",
          attempts: 2,
          dispatched_at: NOW - MIN,
          updated_at: NOW - MIN,
        },
        unheldSince: NOW - MIN,
      }),
      "wait",
    ],
    [
      "its worker is gone, but so is every other worker's heartbeat (broker down?): wait",
      input({ workers: [dead, { ...other, state: "stale" }] }),
      "wait",
    ],
    [
      "its worker is gone but its queue holds messages (the broker gave it back): wait",
      input({ workers: [dead, other], queueDepth: 2 }),
      "wait",
    ],
    [
      "its worker is gone but the reduction changed a moment ago (another worker took it over): wait",
      input({ workers: [dead, other], reduction: { ...running, updated_at: NOW - 5_000 } }),
      "wait",
    ],
    [
      "its worker is gone but this is the first sweep that sees it unheld: wait",
      input({ workers: [dead, other], unheldSince: null }),
      "wait",
    ],
    [
      "a live worker on its host that does not list it, for longer than the grace: re-queued",
      input({ workers: [worker()] }),
      `requeue no live worker has held the job since ${T(-10 * MIN)} (it was last reported from node1); the job was re-queued (attempt 2)`,
    ],
    [
      "nobody lists it, within the grace period: wait",
      input({ workers: [worker()], unheldSince: NOW - 2 * MIN }),
      "wait",
    ],
    [
      "nobody lists it, but no heartbeat of a worker on its host is known: wait (cannot tell)",
      input({ workers: [worker({ src_name: "node2" })] }),
      "wait",
    ],
    [
      "a queued job, and no live worker that lists its jobs is known: wait",
      input({
        reduction: { ...running, status: "queued", host: null, attempts: 0 },
        workers: [worker({ state: "dead" })],
      }),
      "wait",
    ],
    [
      "an SNS agent (no job list) alive on its host: wait",
      input({ workers: [worker({ running: null, waiting: null })] }),
      "wait",
    ],
    [
      "an SNS agent on another host does not hide a running job: re-queued",
      input({ workers: [worker(), worker({ src_name: "sns2", running: null, waiting: null })] }),
      `requeue no live worker has held the job since ${T(-10 * MIN)} (it was last reported from node1); the job was re-queued (attempt 2)`,
    ],
    [
      "a queued job sent within the start timeout while an SNS agent lives: wait (it may hold it unseen)",
      input({
        reduction: { ...queued, dispatched_at: NOW - 4 * MIN, updated_at: NOW - 4 * MIN },
        workers: [agent],
        unheldSince: NOW - 4 * MIN,
      }),
      "wait",
    ],
    [
      "a queued job taken off its queue by an SNS agent and never STARTED: re-sent as the next attempt",
      input({ reduction: queued, workers: [agent] }),
      `requeue no STARTED 31 min after the job was sent (${T(-31 * MIN)}), and it is no longer in its queue: a worker took it and lost it; the job was re-queued (attempt 2)`,
    ],
    [
      "... and on its last attempt: error, with the reason",
      input({ reduction: { ...queued, attempts: 3 }, workers: [agent] }),
      `error no STARTED 31 min after the job was sent (${T(-31 * MIN)}), and it is no longer in its queue: a worker took it and lost it; marked error after 3 attempts`,
    ],
    [
      "a queued job past the start timeout while its queue holds messages (a backlog, not a loss): wait",
      input({ reduction: queued, workers: [agent], queueDepth: 4 }),
      "wait",
    ],
    [
      "a queued job past the start timeout, first seen unheld just now (a worker may have just taken it): wait",
      input({ reduction: queued, workers: [agent], unheldSince: NOW - 5_000 }),
      "wait",
    ],
    [
      "a queued job past the start timeout, while no worker is heard from (broker down?): wait",
      input({ reduction: queued, workers: [{ ...agent, state: "stale" }] }),
      "wait",
    ],
    [
      "a queued job past the start timeout, queue depth unknown (RabbitMQ), only an SNS agent alive: flagged",
      input({ reduction: queued, workers: [agent], queueDepth: null }),
      "flag no STARTED 31 min after it was sent, and the broker cannot tell whether it still waits in its queue",
    ],
    [
      "a queued job sent long ago, its queue empty, no worker holds it: sent again",
      input({ reduction: { ...queued, attempts: 0 }, workers: [worker()] }),
      `requeue no STARTED 31 min after the job was sent (${T(-31 * MIN)}), and it is no longer in its queue: a worker took it and lost it; the job was re-queued (attempt 2)`,
    ],
    [
      "an SNS agent's job running past the flag time: flagged, status left alone",
      input({
        reduction: { ...running, host: "sns2", started_at: NOW - 95 * MIN },
        workers: [{ ...agent }],
      }),
      "flag running for 95 min since its STARTED from sns2 with no final report, and no live worker lists it (an SNS agent's heartbeat lists no jobs; the agent's own time limit is 60 min by default): check that host; cancel or re-run the run if the reduction is gone",
    ],
    [
      "the SNS agent that STARTED it is dead and nothing else lives on its host: re-queued",
      input({
        reduction: { ...running, host: "sns2" },
        workers: [{ ...agent, state: "dead", last_seen_at: NOW - 3 * MIN }, other],
      }),
      `requeue SNS agent sns2:100, which ran it, stopped sending heartbeats at ${T(-3 * MIN)}; the job was re-queued (attempt 2)`,
    ],
    [
      "the SNS agent that STARTED it is dead but a new one beats on its host (restarted): wait",
      input({
        reduction: { ...running, host: "sns2" },
        workers: [
          { ...agent, state: "dead", last_seen_at: NOW - 3 * MIN },
          { ...agent, pid: 101 },
        ],
      }),
      "wait",
    ],
    [
      "the SNS agent that STARTED it is dead, first seen unheld just now: wait",
      input({
        reduction: { ...running, host: "sns2" },
        workers: [{ ...agent, state: "dead", last_seen_at: NOW - 3 * MIN }, other],
        unheldSince: NOW - 5_000,
      }),
      "wait",
    ],
    [
      "an SNS agent's job running past the flag time, with flagging off: wait",
      input({
        reduction: { ...running, host: "sns2", started_at: NOW - 95 * MIN },
        workers: [agent],
        runningFlagMs: null,
      }),
      "wait",
    ],
    [
      "a job running long, but a live worker lists it (our worker enforces its own limits): held",
      input({
        reduction: { ...running, started_at: NOW - 95 * MIN },
        workers: [worker({ running: ["job-1"] })],
      }),
      "held node1:100",
    ],
    [
      "a queued job not sent yet, just made: wait (the coordinator sends it)",
      input({
        reduction: { ...running, status: "queued", dispatched_at: null, attempts: 0, updated_at: NOW - MIN },
      }),
      "wait",
    ],
    [
      "a queued job never sent, long ago (the broker was down when it was re-queued): sent",
      input({ reduction: { ...running, status: "queued", dispatched_at: null, attempts: 2 } }),
      "send its job message was never sent (the broker could not be reached); sent now",
    ],
    [
      "a retrying job before its retry is due (plus the grace): wait",
      input({ reduction: { ...running, status: "retrying", retry_at: NOW - MIN } }),
      "wait",
    ],
    [
      "a retrying job long overdue, queue empty, nobody holds it: re-queued",
      input({ reduction: { ...running, status: "retrying", retry_at: NOW - 20 * MIN }, workers: [worker()] }),
      `requeue no live worker has held the job since ${T(-10 * MIN)} (it was last reported from node1); the job was re-queued (attempt 2)`,
    ],
    [
      "queue depth unknown (RabbitMQ) and its worker gone: wait for the grace period",
      input({ queueDepth: null, workers: [dead, other], unheldSince: NOW - MIN }),
      "wait",
    ],
    [
      "queue depth unknown (RabbitMQ): resolved by the grace period alone",
      input({ queueDepth: null, workers: [worker()] }),
      `requeue no live worker has held the job since ${T(-10 * MIN)} (it was last reported from node1); the job was re-queued (attempt 2)`,
    ],
  ];
  for (const [name, given, want] of cases) {
    const action = sweepDecision(given);
    const got =
      action.kind === "held"
        ? `held ${action.by}`
        : action.kind === "wait"
          ? "wait"
          : `${action.kind} ${action.reason}`;
    assert.equal(got, want, name);
  }
});
