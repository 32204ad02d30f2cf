import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTokenRole, type TokenHolder, TokenRefused } from "../../src/store/token-store.ts";
import { permission, rerunCapRole } from "../../src/web/api-permission.ts";

const holder = (role: TokenHolder["role"], instruments: string[] = []): TokenHolder => ({
  id: 1,
  name: "h",
  role,
  instruments,
});

test("permission: who may change which instrument", () => {
  const cases: Array<[TokenHolder | null, string, string]> = [
    [null, "MARI", "unauthenticated"],
    [holder("admin"), "MARI", "allow"],
    [holder("admin"), "anything", "allow"],
    [holder("scientist", ["MARI"]), "MARI", "allow"],
    [holder("scientist", ["MARI"]), "mari", "allow"],
    [holder("scientist", ["MARI", "WISH"]), "WISH", "allow"],
    [holder("scientist", ["MARI"]), "WISH", "forbidden"],
    [holder("scientist", []), "MARI", "forbidden"],
    [holder("read"), "MARI", "forbidden"],
  ];
  for (const [who, instrument, wanted] of cases)
    assert.equal(permission(who, { instrument }), wanted, `${JSON.stringify(who)} on ${instrument}`);
});

test("the re-run cap of a token's role", () => {
  assert.deepEqual(
    [rerunCapRole(holder("admin")), rerunCapRole(holder("scientist", ["X"])), rerunCapRole(holder("read"))],
    ["admin", "staff", "user"],
  );
});

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
