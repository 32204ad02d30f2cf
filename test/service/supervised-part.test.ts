import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../src/logging/logger.ts";
import type { HeartbeatMessage } from "../../src/messages/heartbeat.ts";
import { type PartContext, type PartStart, partDeclaration } from "../../src/service/part-registry.ts";
import { NO_RESTARTS } from "../../src/service/restart-policy.ts";
import { SupervisedPart } from "../../src/service/supervised-part.ts";
import { openStack, type Stack } from "../helpers/in-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

const fast = { maxFailures: 10, windowMs: 60_000, initialDelayMs: 20, maxDelayMs: 100 };

describe("a supervised part", { timeout: 60_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await openStack({ heartbeat: { interval_seconds: 0.1 } });
  });
  after(() => stack.close());

  /** A listener-like part whose start is `start`; its heartbeats and console lines are kept. */
  function supervise(start: PartStart, policy = fast) {
    const beats: HeartbeatMessage[] = [];
    const said: string[] = [];
    const givenUp: string[] = [];
    const part = new SupervisedPart({
      declaration: partDeclaration("listener"),
      start,
      context: { ...stack, log: silentLogger(), say: (text) => said.push(text) },
      policy,
      record: async (beat) => {
        beats.push(beat);
      },
      onGiveUp: (name) => givenUp.push(name),
    });
    return { part, beats, said, givenUp };
  }

  test("a part whose start rejects twice is restarted with backoff, then runs; its beats tell the story", async () => {
    let attempts = 0;
    const { part, beats, said } = supervise(async () => {
      attempts++;
      if (attempts <= 2) throw new Error(`not yet (${attempts})`);
      return { stop: async () => {}, details: () => ({ attempts }) };
    });
    await part.start();
    assert.deepEqual(part.report(), { part_state: "failed", restarts: 0, last_error: "not yet (1)" });
    await waitFor(() => part.report().part_state === "running", "the part to run");
    assert.deepEqual(part.report(), { part_state: "running", restarts: 2, last_error: "not yet (2)" });
    await waitFor(() => beats.some((b) => b.part_state === "running"), "a beat saying running");
    const running = beats.find((b) => b.part_state === "running");
    assert.equal(running?.attempts, 3, "the part's own details are in its beat");
    assert.equal(running?.role, "listener");
    assert.ok(said.some((line) => /listener: failed \(not yet \(1\)\); restarting in [\d.]+ s/.test(line)));
    await part.stop();
    assert.equal(part.report().part_state, "stopped");
    assert.deepEqual(
      [beats.at(-1)?.status, beats.at(-1)?.part_state],
      ["stopped", "stopped"],
      "the last beat says stopped",
    );
  });

  test("a part that reports a fatal error while running is stopped and started again", async () => {
    const contexts: PartContext[] = [];
    let stops = 0;
    const { part } = supervise(async (context) => {
      contexts.push(context);
      return {
        stop: async () => {
          stops++;
        },
      };
    });
    await part.start();
    assert.equal(part.report().part_state, "running");
    contexts[0]?.fail(new Error("the watch broke\nsecond line"));
    assert.equal(part.report().part_state, "failed");
    assert.equal(part.report().last_error, "the watch broke");
    await waitFor(() => part.report().part_state === "running" && contexts.length === 2, "a restart");
    assert.equal(stops, 1, "what was left of the failed run was stopped");
    contexts[0]?.fail(new Error("late news from the old run"));
    assert.equal(part.report().part_state, "running", "an earlier run's error changes nothing");
    await part.stop();
    assert.equal(stops, 2);
  });

  test("a part that keeps failing is given up once, and stays failed", async () => {
    const { part, givenUp, said } = supervise(
      async () => {
        throw new Error("broken for good");
      },
      { ...fast, maxFailures: 3 },
    );
    await part.start();
    await waitFor(() => givenUp.length === 1, "the part to be given up");
    assert.deepEqual(part.report(), { part_state: "failed", restarts: 2, last_error: "broken for good" });
    assert.ok(said.some((line) => line.includes("given up after 3 failures")));
    await part.stop();
    assert.equal(part.report().part_state, "failed", "a given-up part stays failed");
    assert.deepEqual(givenUp, ["listener"]);
  });

  test("with no restarts (one part per process), the first failure gives the part up", async () => {
    const { part, givenUp } = supervise(async () => {
      throw new Error("port taken");
    }, NO_RESTARTS);
    await part.start();
    assert.deepEqual(givenUp, ["listener"]);
    await part.stop();
  });

  test("a stop while a restart waits cancels the restart", async () => {
    let attempts = 0;
    const { part } = supervise(
      async () => {
        attempts++;
        throw new Error("down");
      },
      { ...fast, initialDelayMs: 60_000, maxDelayMs: 60_000 },
    );
    await part.start();
    await part.stop();
    assert.equal(part.report().part_state, "stopped");
    assert.equal(attempts, 1);
  });
});
