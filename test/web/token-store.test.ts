import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { SqlDatabase } from "../../src/store/state-database.ts";
import {
  authenticateToken,
  createToken,
  hashToken,
  listTokens,
  revokeToken,
  TokenRefused,
} from "../../src/store/token-store.ts";
import { openBackendDatabase } from "../helpers/backend-database.ts";

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`API tokens on ${backend}`, () => {
    let database: SqlDatabase;
    let close: () => Promise<void>;
    before(async () => {
      ({ database, close } = await openBackendDatabase(backend));
    });
    after(async () => close());

    test("only the hash is stored; the token authenticates until it expires or is revoked", async () => {
      const t0 = 1_700_000_000_000;
      const { token, record } = await createToken(
        database,
        { name: "bot", role: "scientist:MARI", expiresAt: t0 + 10_000, createdBy: "ops" },
        t0,
      );
      const row = await database.db.selectFrom("api_tokens").selectAll().executeTakeFirstOrThrow();
      assert.equal(row.token_hash, hashToken(token));
      assert.ok(!JSON.stringify(row).includes(token));
      assert.deepEqual(await authenticateToken(database, token, t0 + 1), {
        id: record.id,
        name: "bot",
        role: "scientist",
        instruments: ["MARI"],
        userId: null,
      });
      assert.equal(await authenticateToken(database, token, t0 + 10_000), null, "expired");
      assert.equal(await authenticateToken(database, `${token}x`, t0 + 1), null, "not that token");
      assert.equal(await authenticateToken(database, "plainly-not-ours", t0 + 1), null);
      const [listed] = await listTokens(database);
      assert.equal(listed?.last_used_at, t0 + 1, "the accepted use is recorded");
      assert.equal((await revokeToken(database, String(record.id), t0 + 2))?.name, "bot");
      assert.equal(await authenticateToken(database, token, t0 + 3), null, "revoked");
      assert.equal(await revokeToken(database, "bot"), null, "revoked once");
    });

    test("names are unique and not mere numbers; each token differs", async () => {
      const a = await createToken(database, { name: "ops-1", role: "admin" });
      const b = await createToken(database, { name: "ops-2", role: "admin" });
      assert.notEqual(a.token, b.token);
      await assert.rejects(createToken(database, { name: "ops-1", role: "read" }), TokenRefused);
      await assert.rejects(createToken(database, { name: "42", role: "read" }), TokenRefused);
      await assert.rejects(createToken(database, { name: "has space", role: "read" }), TokenRefused);
    });
  });
}
