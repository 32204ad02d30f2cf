import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { cli } from "../helpers/deployment.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "sns");

test("worker --post-processing-conf --show-config: the SNS agent's settings, and the keys it ignores with reasons", async () => {
  const result = await cli([
    "worker",
    "--post-processing-conf",
    join(FIXTURES, "post_processing.conf"),
    "--queue",
    "REDUCTION.HIMEM.DATA_READY",
    "--show-config",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /used {5}max_procs → worker\.max_procs/);
  assert.match(result.stdout, /ignored {2}task_script: our worker runs reductions itself/);
  assert.match(result.stdout, /^queues: \/queue\/REDUCTION\.HIMEM\.DATA_READY$/m, "--queue wins");
  assert.match(result.stdout, /^slots: 10 \(per instrument: 4/m);
  assert.match(result.stdout, /^success: stderr \(allow-list: 12 patterns\)$/m);
  assert.doesNotMatch(result.stdout + result.stderr, /XXXXX|xxxxxxx/, "no password is printed");
});

test("worker --post-processing-conf with invalid JSON exits 2 naming the line", async () => {
  const result = await cli([
    "worker",
    "--post-processing-conf",
    join(FIXTURES, "post_processing.typo.conf"),
    "--show-config",
  ]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /not valid JSON at line 6, column 16/);
});

test("the SNS file's brokers make the worker talk STOMP to them, with its user; the password is never printed", async () => {
  const { workerConfig } = await import("../../src/cli/worker-daemon.ts");
  const { brokerPassword, describeTransport } = await import("../../src/transport/open-transport.ts");
  const { config } = workerConfig({ postProcessingConf: join(FIXTURES, "post_processing.test.conf") });
  assert.equal(config.transport.kind, "stomp");
  assert.deepEqual(config.transport.stomp.brokers, ["localhost:61613", "amqbroker2.example:61614"]);
  assert.equal(config.transport.stomp.user, "wfclient");
  assert.equal(brokerPassword(config, {}), "test-broker-secret");
  const result = await cli([
    "worker",
    "--post-processing-conf",
    join(FIXTURES, "post_processing.test.conf"),
    "--show-config",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^transport: stomp \(auto\) localhost:61613, amqbroker2\.example:61614 as wfclient$/m,
  );
  assert.equal(describeTransport(config).includes("test-broker-secret"), false);
  assert.doesNotMatch(result.stdout + result.stderr, /test-broker-secret/);
});

test("the facility example config is valid: a worker reads it and shows both brokers, its limits and scripts", async () => {
  const example = join(import.meta.dirname, "..", "..", "examples", "facility", "autoreduce.yaml");
  const result = await cli(["worker", "--config", example, "--show-config"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^transport: stomp \(auto\) amqbroker1\.facility\.example:61613, amqbroker2\.facility\.example:61613 as autoreduce$/m,
  );
  assert.match(result.stdout, /^limits: memory 70%, time 120 min, stall none, checked every 1 s$/m);
  assert.match(
    result.stdout,
    /^scripts: \/SNS\/\{instrument\}\/shared\/autoreduce\/reduce_\{instrument\}\.py with python3$/m,
  );
});
