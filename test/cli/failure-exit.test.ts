import assert from "node:assert/strict";
import { test } from "node:test";
import { CommanderError } from "commander";
import { CommandFailed } from "../../src/cli/command-failed.ts";
import { failureExit } from "../../src/cli/failure-exit.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { OperationRefused } from "../../src/coordinator/operations.ts";
import { RunRangeError } from "../../src/scripts/run-ranges.ts";
import { DatabaseUnavailableError } from "../../src/store/state-database.ts";
import { TransportUnavailableError } from "../../src/transport/transport.ts";

test("a command's failure exits by the error's kind: configuration 2, expected failures 1 with the message", () => {
  const cases: Array<[string, unknown, 0 | 1 | 2, RegExp | null]> = [
    ["help shown", new CommanderError(0, "commander.helpDisplayed", "(help)"), 0, null],
    ["bad usage", new CommanderError(1, "commander.unknownOption", "unknown option"), 2, null],
    [
      "bad configuration",
      new ConfigError("a.yaml", ["x: expected number"]),
      2,
      /^autoreduce: a\.yaml: invalid/,
    ],
    ["the command failed", new CommandFailed("not sent: no runs"), 1, /^autoreduce: not sent: no runs$/],
    [
      "a refused request",
      new OperationRefused("unknown instrument X"),
      1,
      /^autoreduce: unknown instrument X$/,
    ],
    [
      "refused input of any kind",
      new RunRangeError("'a-b' is not a run range"),
      1,
      /^autoreduce: 'a-b' is not/,
    ],
    [
      "the database down",
      new DatabaseUnavailableError("sqlite:x", new Error("gone")),
      1,
      /^autoreduce: database/,
    ],
    [
      "the broker down",
      new TransportUnavailableError("no broker within 30 s"),
      1,
      /^autoreduce: no broker within 30 s$/,
    ],
    [
      "a defect",
      new TypeError("x is undefined"),
      1,
      /^autoreduce: unexpected error: TypeError: x is undefined/,
    ],
  ];
  for (const [what, error, code, text] of cases) {
    const exit = failureExit(error);
    assert.equal(exit.code, code, what);
    if (text === null) assert.equal(exit.text, null, what);
    else assert.match(exit.text ?? "", text, what);
  }
});
