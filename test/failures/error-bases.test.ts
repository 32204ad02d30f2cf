import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { CatalogFileError } from "../../src/catalog/catalog-file.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { MemoryLimitError } from "../../src/config/memory-size.ts";
import { OperationRefused } from "../../src/coordinator/operations.ts";
import { OutputOutsideRootError } from "../../src/coordinator/output-location.ts";
import { PlanRefused } from "../../src/coordinator/version-plan.ts";
import { ExecutionStartError } from "../../src/executors/executor.ts";
import { UnknownExecutorError } from "../../src/executors/executor-registry.ts";
import { InfrastructureError, isRetryable } from "../../src/failures/infrastructure-error.ts";
import { RefusedError } from "../../src/failures/refused-error.ts";
import { InvalidMessageError } from "../../src/messages/message-error.ts";
import { NexusReadError } from "../../src/nexus/nexus-read-error.ts";
import { PythonLiteralError } from "../../src/scripts/python-literal.ts";
import { ReduceVarsError } from "../../src/scripts/reduce-vars-reader.ts";
import { RunRangeError } from "../../src/scripts/run-ranges.ts";
import { TemplateError } from "../../src/scripts/script-template.ts";
import { VariableValueError } from "../../src/scripts/variable-types.ts";
import { UnknownJobError } from "../../src/store/reduction-store.ts";
import { BadCursorError } from "../../src/store/run-index.ts";
import { DatabaseUnavailableError } from "../../src/store/state-database.ts";
import { TokenRefused } from "../../src/store/token-store.ts";
import { UserRefused } from "../../src/store/user-store.ts";
import { DeadLetterRefused } from "../../src/transport/dead-letters.ts";
import { StatisticsUnavailableError } from "../../src/transport/stomp/queue-depth.ts";
import { BrokerRefusedError, ConnectionLostError } from "../../src/transport/stomp/stomp-connection.ts";
import { TransportUnavailableError } from "../../src/transport/transport.ts";
import { PlotParseError } from "../../src/web/plots/plotly-div.ts";

type Base = "infrastructure" | "refused";

/** Every error class of src/ that says whether a retry can help, with one instance of it. */
const PLACED: Record<string, [Base, () => Error]> = {
  DatabaseUnavailableError: [
    "infrastructure",
    () => new DatabaseUnavailableError("sqlite:x", new Error("down")),
  ],
  TransportUnavailableError: ["infrastructure", () => new TransportUnavailableError("no broker")],
  ConnectionLostError: ["infrastructure", () => new ConnectionLostError("closed")],
  StatisticsUnavailableError: ["infrastructure", () => new StatisticsUnavailableError("no statistics")],
  ExecutionStartError: ["infrastructure", () => new ExecutionStartError("python3", "not found", "ENOENT")],
  BrokerRefusedError: ["refused", () => new BrokerRefusedError("access denied")],
  ConfigError: ["refused", () => new ConfigError("a.yaml", ["x: expected number"])],
  MemoryLimitError: ["refused", () => new MemoryLimitError("11 parsecs", "unknown unit")],
  OperationRefused: ["refused", () => new OperationRefused("unknown instrument")],
  OutputOutsideRootError: ["refused", () => new OutputOutsideRootError("outside the root")],
  PlanRefused: ["refused", () => new PlanRefused("unknown variable")],
  UnknownExecutorError: ["refused", () => new UnknownExecutorError("slurm9")],
  InvalidMessageError: ["refused", () => new InvalidMessageError("run_number: expected number")],
  NexusReadError: ["refused", () => new NexusReadError("/a.nxs.h5", "not an HDF5 file")],
  PythonLiteralError: ["refused", () => new PythonLiteralError("NaN has no literal")],
  ReduceVarsError: ["refused", () => new ReduceVarsError("/s/reduce_vars.py", "a function call", 3)],
  RunRangeError: ["refused", () => new RunRangeError("not a range")],
  TemplateError: ["refused", () => new TemplateError("missing $x", ["x"])],
  VariableValueError: ["refused", () => new VariableValueError("expected a number", "Extents")],
  UnknownJobError: ["refused", () => new UnknownJobError("j-1")],
  TokenRefused: ["refused", () => new TokenRefused("name taken")],
  DeadLetterRefused: ["refused", () => new DeadLetterRefused("no such queue")],
  UserRefused: ["refused", () => new UserRefused("a user named x exists")],
  CatalogFileError: ["refused", () => new CatalogFileError(["line 2: no experiment"])],
  BadCursorError: ["refused", () => new BadCursorError()],
  PlotParseError: ["refused", () => new PlotParseError("no Plotly.newPlot call")],
};

/**
 * Errors that are neither: control flow inside a part, or a defect in the code (which no retry
 * and no change of input fixes). Each is named here so that a new class must be placed.
 */
const NEITHER = new Set([
  "HandedBack", // a worker stopping gives its message back
  "SlotWithdrawn", // a waiting job was taken out of the worker's queue
  "CommandFailed", // the CLI's exit code 1, wrapping what failed
  "MessageBuildError", // a sender built a message its consumers would refuse: a bug
  "NotAReductionError", // a query forgot its kind: a bug
  "PartTransitionError", // a lifecycle move the code should not ask for: a bug
  "Unreadable", // one trace of an uploaded plot left out, with a note: control flow of the parser
]);

test("each error class has the base that says whether a retry can help", () => {
  for (const [name, [base, make]] of Object.entries(PLACED)) {
    const error = make();
    assert.equal(error.name, name, `${name}.name`);
    assert.equal(
      error instanceof InfrastructureError,
      base === "infrastructure",
      `${name} is infrastructure`,
    );
    assert.equal(error instanceof RefusedError, base === "refused", `${name} is refused`);
    assert.equal(isRetryable(error), base === "infrastructure", `isRetryable(${name})`);
    if (error instanceof RefusedError) assert.ok(error.reason.length > 0, `${name} has a reason`);
  }
});

test("a refusal keeps the short reason its class was given, apart from the longer message", () => {
  const cases: Array<[RefusedError, string]> = [
    [new InvalidMessageError("run_number: expected number"), "run_number: expected number"],
    [new MemoryLimitError("11 parsecs", "unknown unit"), "unknown unit"],
    [new ReduceVarsError("/s/reduce_vars.py", "a function call", 3), "a function call"],
    [new NexusReadError("/a.nxs.h5", "not an HDF5 file"), "not an HDF5 file"],
    [new VariableValueError("expected a number", "Extents"), "expected a number"],
    [new PlanRefused("unknown variable"), "unknown variable"],
  ];
  for (const [error, reason] of cases) assert.equal(error.reason, reason, error.name);
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith(".ts") ? [full] : [];
  });
}

test("every error class in src/ is placed: infrastructure, refused, or named as neither", () => {
  const parents = new Map<string, string>();
  for (const file of sourceFiles(resolve(import.meta.dirname, "../../src")))
    for (const m of readFileSync(file, "utf8").matchAll(/class (\w+) extends (\w+)/g))
      parents.set(m[1] as string, m[2] as string);
  const isError = (name: string): boolean => {
    const parent = parents.get(name);
    return parent === "Error" || (parent !== undefined && isError(parent));
  };
  const bases = new Set(["InfrastructureError", "RefusedError"]);
  const unplaced = [...parents.keys()].filter(
    (name) => isError(name) && !bases.has(name) && !(name in PLACED) && !NEITHER.has(name),
  );
  assert.deepEqual(unplaced, [], "place these in PLACED (infrastructure or refused) or NEITHER");
});
