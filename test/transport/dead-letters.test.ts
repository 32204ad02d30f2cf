import assert from "node:assert/strict";
import { test } from "node:test";
import { configFromObject } from "../../src/config/load-config.ts";
import {
  DeadLetterRefused,
  deadLetterQueue,
  deadLetterQueues,
  deadLetterSummary,
  planReinjection,
  workQueues,
} from "../../src/transport/dead-letters.ts";
import type { QueuedMessage } from "../../src/transport/transport.ts";

const config = configFromObject({ worker: { queues: ["/queue/REDUCTION.HPC"] } }, "test.yaml", {});
const known = workQueues(config);
const ERRORS = "/queue/POSTPROCESS.ERROR";
const letter = (destination: string, body: string, headers: Record<string, string> = {}): QueuedMessage => ({
  id: "m1",
  destination,
  body,
  headers,
  enqueuedAt: null,
});

test("the dead-letter queues: one per configured work queue and worker pool, then the error queue", () => {
  const queues = deadLetterQueues(config);
  assert.ok(queues.includes("/queue/DLQ.POSTPROCESS.DATA_READY"));
  assert.ok(queues.includes("/queue/DLQ.REDUCTION.DATA_READY"));
  assert.ok(queues.includes("/queue/DLQ.REDUCTION.HPC"));
  assert.equal(queues.at(-1), ERRORS);
  assert.ok(
    !queues.some((q) => q.includes("/topic/") || q.includes("DLQ.POSTPROCESS.ERROR") || q.includes("{")),
  );
});

test("only a DLQ.* queue or the error queue may be acted on", () => {
  assert.equal(deadLetterQueue(config, "DLQ.REDUCTION.DATA_READY"), "/queue/DLQ.REDUCTION.DATA_READY");
  assert.equal(deadLetterQueue(config, "POSTPROCESS.ERROR"), ERRORS);
  for (const name of ["REDUCTION.DATA_READY", "/topic/DLQ.X", "/queue/POSTPROCESS.DATA_READY"])
    assert.throws(() => deadLetterQueue(config, name), DeadLetterRefused, name);
});

test("where a re-injected message goes, and what is sent", () => {
  const errorBody = (destination?: string) =>
    JSON.stringify({
      error: "bad",
      original_body: "orig",
      ...(destination ? { original_destination: destination } : {}),
    });
  const cases: Array<[string, QueuedMessage, string | undefined, string | RegExp, string?]> = [
    [
      "a DLQ letter goes to the queue its DLQ is named after (not the header's claim)",
      letter("/queue/DLQ.REDUCTION.DATA_READY", "b", {
        "x-original-destination": "/queue/REDUCTION.REQUEST",
      }),
      undefined,
      "/queue/REDUCTION.DATA_READY",
      "b",
    ],
    [
      "a worker pool's letter goes back to the pool",
      letter("/queue/DLQ.REDUCTION.HPC", "b"),
      undefined,
      "/queue/REDUCTION.HPC",
      "b",
    ],
    [
      "--to overrides",
      letter("/queue/DLQ.REDUCTION.HPC", "b"),
      "REDUCTION.DATA_READY",
      "/queue/REDUCTION.DATA_READY",
      "b",
    ],
    [
      "--to must be a queue of the configuration",
      letter("/queue/DLQ.REDUCTION.HPC", "b"),
      "/queue/ANY",
      /not a queue of this configuration/,
    ],
    [
      "a DLQ of an unknown queue is refused",
      letter("/queue/DLQ.OTHER", "b"),
      undefined,
      /OTHER, which is not a queue/,
    ],
    [
      "an error-queue message sends its original body back",
      letter(ERRORS, errorBody("/queue/POSTPROCESS.DATA_READY")),
      undefined,
      "/queue/POSTPROCESS.DATA_READY",
      "orig",
    ],
    [
      "... only to a configured queue",
      letter(ERRORS, errorBody("/queue/SOMEWHERE")),
      undefined,
      /SOMEWHERE, which is not/,
    ],
    ["... and needs to know where", letter(ERRORS, errorBody()), undefined, /give --to QUEUE/],
    [
      "... unless told",
      letter(ERRORS, errorBody()),
      "POSTPROCESS.DATA_READY",
      "/queue/POSTPROCESS.DATA_READY",
      "orig",
    ],
    [
      "a foreign error message has no original to send",
      letter(ERRORS, '{"error": "x"}'),
      undefined,
      /no original_body/,
    ],
  ];
  for (const [what, message, to, wanted, body] of cases) {
    if (wanted instanceof RegExp) {
      assert.throws(
        () => planReinjection(message, ERRORS, known, to),
        (e) => e instanceof DeadLetterRefused && wanted.test(e.message),
        what,
      );
      continue;
    }
    const plan = planReinjection(message, ERRORS, known, to);
    assert.deepEqual([plan.destination, plan.body], [wanted, body], what);
  }
});

test("a re-injected message keeps its own headers and loses the dead-letter ones", () => {
  const plan = planReinjection(
    letter("/queue/DLQ.REDUCTION.DATA_READY", "b", {
      "x-job-signature": "sig",
      "x-dead-letter-reason": "failed",
      "x-original-destination": "/queue/REDUCTION.DATA_READY",
      "x-dead-lettered-at": "1",
    }),
    ERRORS,
    known,
  );
  assert.deepEqual(plan.headers, { "x-job-signature": "sig" });
});

test("the status line about dead letters", () => {
  const queues = ["/queue/DLQ.A", "/queue/DLQ.B", ERRORS];
  const cases: Array<[Record<string, number | null>, string]> = [
    [{ "/queue/DLQ.A": 0, "/queue/DLQ.B": 0, [ERRORS]: 0 }, "Dead letters: none"],
    [{}, "Dead letters: none"],
    [
      { "/queue/DLQ.A": 2, "/queue/DLQ.B": 0, [ERRORS]: 1 },
      "Dead letters: 2 in /queue/DLQ.A, 1 in /queue/POSTPROCESS.ERROR (see `autoreduce dlq list`)",
    ],
    [
      { "/queue/DLQ.A": null, "/queue/DLQ.B": null, [ERRORS]: null },
      "Dead letters: 3 queue(s) the broker cannot count (see `autoreduce dlq list`)",
    ],
  ];
  for (const [depths, wanted] of cases) assert.equal(deadLetterSummary(depths, queues), wanted);
});
