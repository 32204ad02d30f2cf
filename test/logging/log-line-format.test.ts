import assert from "node:assert/strict";
import { test } from "node:test";
import { formatLogLine } from "../../src/logging/log-line-format.ts";

const time = new Date(2026, 10, 30, 12, 3, 4).getTime();
const at = new Date(time).toLocaleTimeString();

const cases: Array<[line: string, expected: string, why: string]> = [
  [
    JSON.stringify({ level: 30, time, pid: 7, name: "serve", msg: "part running", part: "web" }),
    `${at}  INFO  serve: part running part=web`,
    "level, name and message, then the other fields",
  ],
  [
    JSON.stringify({
      level: 50,
      time,
      name: "worker",
      msg: "part failed",
      err: { message: "listen EADDRINUSE", stack: "..." },
    }),
    `${at}  ERROR worker: part failed: listen EADDRINUSE`,
    "an error's message follows the text; its stack is left to the JSON",
  ],
  [
    JSON.stringify({ level: 40, time, msg: "heartbeat not sent", destination: "/topic/X", tries: 2 }),
    `${at}  WARN  heartbeat not sent destination=/topic/X tries=2`,
    "no name; fields that are not strings as JSON",
  ],
  ["not json at all", "not json at all", "a line that is not JSON is kept as it is"],
  ["[1,2]", "[1,2]", "JSON that is not an object is kept as it is"],
];

for (const [line, expected, why] of cases) {
  test(`a log line as a short human line: ${why}`, () => {
    assert.equal(formatLogLine(line), expected);
  });
}
