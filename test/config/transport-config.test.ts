import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { configFromObject, loadConfig } from "../../src/config/load-config.ts";
import { brokerPassword, describeTransport } from "../../src/transport/open-transport.ts";
import { tempDir } from "../helpers/temp-dir.ts";

test("the facility example config is valid: STOMP to two brokers, PostgreSQL, no password in it", () => {
  const file = join(import.meta.dirname, "..", "..", "examples", "facility", "autoreduce.yaml");
  const config = loadConfig(file, {});
  assert.equal(config.transport.kind, "stomp");
  assert.equal(config.transport.stomp.brokers.length, 2);
  assert.match(config.database.url, /^postgres:\/\//);
  assert.equal(config.transport.stomp.password, null);
  assert.equal(config.transport.stomp.password_file, "/etc/autoreduce/broker-password");
});

test("the broker password comes from the config, else a file (relative to the config), else the environment", () => {
  const scratch = tempDir();
  try {
    writeFileSync(join(scratch.path, "secret"), "from-file\nignored second line\n");
    const source = join(scratch.path, "autoreduce.yaml");
    const make = (stomp: Record<string, unknown>) =>
      configFromObject({ transport: { kind: "stomp", stomp } }, source, {});
    assert.equal(
      brokerPassword(make({ password: "inline" }), { AUTOREDUCE_BROKER_PASSWORD: "env" }),
      "inline",
    );
    assert.equal(
      brokerPassword(make({ password_file: "secret" }), { AUTOREDUCE_BROKER_PASSWORD: "env" }),
      "from-file",
    );
    assert.equal(brokerPassword(make({}), { AUTOREDUCE_BROKER_PASSWORD: "env" }), "env");
    assert.equal(brokerPassword(make({ password_env: "MY_PW" }), { MY_PW: "mine" }), "mine");
    assert.equal(brokerPassword(make({}), {}), undefined);
    assert.throws(
      () => brokerPassword(make({ password_file: "missing" }), {}),
      (e: unknown) =>
        e instanceof ConfigError && /password_file: cannot read .*missing \(ENOENT\)/.test(e.message),
    );
    assert.doesNotMatch(describeTransport(make({ password: "inline", user: "u" })), /inline/);
  } finally {
    scratch.cleanup();
  }
});

test("a transport kind that does not exist is refused, naming the choices", () => {
  assert.throws(
    () => configFromObject({ transport: { kind: "kafka" } }, "(test)", {}),
    (e: unknown) => e instanceof ConfigError && /transport\.kind/.test(e.message) && /stomp/.test(e.message),
  );
});
