import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTokenRole, TokenRefused } from "../../src/store/token-store.ts";

test("token roles: the forms accepted and the reasons for refusal", () => {
  const ok: Array<[string, string[], unknown]> = [
    ["admin", [], { role: "admin", instruments: [] }],
    ["read", [], { role: "read", instruments: [] }],
    ["scientist:MARI", [], { role: "scientist", instruments: ["MARI"] }],
    ["scientist:wish,MARI", [], { role: "scientist", instruments: ["MARI", "WISH"] }],
    ["scientist", ["nomad", "NOMAD"], { role: "scientist", instruments: ["NOMAD"] }],
    ["scientist:MARI", ["WISH"], { role: "scientist", instruments: ["MARI", "WISH"] }],
  ];
  for (const [role, instruments, wanted] of ok)
    assert.deepEqual(parseTokenRole(role, instruments), wanted, role);
  const refused: Array<[string, string[], RegExp]> = [
    ["root", [], /unknown role "root"/],
    ["scientist", [], /needs its instruments/],
    ["admin", ["MARI"], /takes no instruments/],
    ["read:MARI", [], /takes no instruments/],
    ["scientist:../etc", [], /bad instrument name/],
  ];
  for (const [role, instruments, reason] of refused)
    assert.throws(
      () => parseTokenRole(role, instruments),
      (e) => e instanceof TokenRefused && reason.test(e.message),
      role,
    );
});
