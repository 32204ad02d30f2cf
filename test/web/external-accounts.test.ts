import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import type { SqlDatabase } from "../../src/store/state-database.ts";
import { createUser, findUser, grantInstrument, setAdmin, setDisabled } from "../../src/store/user-store.ts";
import {
  type ExternalIdentity,
  externalUsername,
  signInExternal,
} from "../../src/web/auth/external-accounts.ts";
import { openBackendDatabase } from "../helpers/backend-database.ts";

const quiet = pino({ level: "silent" });

const identity = (patch: Partial<ExternalIdentity> = {}): ExternalIdentity => ({
  provider: "ldap",
  username: "bob",
  displayName: "Bob Scientist",
  email: "bob@facility.test",
  admin: false,
  instruments: ["MARI"],
  ...patch,
});

async function grants(database: SqlDatabase, userId: number) {
  return database.db
    .selectFrom("user_instruments")
    .select(["instrument", "granted_by"])
    .where("user_id", "=", userId)
    .orderBy("instrument")
    .execute();
}

test("provider user names: lower case, and only names we accept", () => {
  assert.equal(externalUsername("Bob.Smith@ISIS"), "bob.smith@isis");
  for (const bad of ["*)(uid=*", "a,b", "", " bob", 42, null]) assert.equal(externalUsername(bad), null);
});

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`users vouched for by LDAP or OIDC (${backend})`, () => {
    test("created at the first sign-in, then roles synced: provider grants replaced, an administrator's kept", async () => {
      const { database, close } = await openBackendDatabase(backend);
      try {
        const first = await signInExternal(database, quiet, identity({ instruments: ["MARI", "let"] }));
        assert.ok("userId" in first);
        const bob = await findUser(database, "bob");
        assert.equal(bob?.provider, "ldap");
        assert.equal(bob?.display_name, "Bob Scientist");
        assert.deepEqual(await grants(database, first.userId), [
          { instrument: "LET", granted_by: "ldap" },
          { instrument: "MARI", granted_by: "ldap" },
        ]);
        await grantInstrument(database, first.userId, "WISH", "admin");
        const again = await signInExternal(database, quiet, identity({ instruments: ["WISH"], email: null }));
        assert.deepEqual(again, { userId: first.userId });
        assert.deepEqual(await grants(database, first.userId), [{ instrument: "WISH", granted_by: "admin" }]);
        assert.equal((await findUser(database, "bob"))?.email, "bob@facility.test", "kept when not given");
        await signInExternal(database, quiet, identity({ instruments: [] }));
        assert.deepEqual(await grants(database, first.userId), [{ instrument: "WISH", granted_by: "admin" }]);
      } finally {
        await close();
      }
    });

    test("the admin flag follows the provider's groups, unless it decides nothing (null)", async () => {
      const { database, close } = await openBackendDatabase(backend);
      try {
        const made = await signInExternal(database, quiet, identity({ admin: true }));
        assert.ok("userId" in made);
        assert.equal((await findUser(database, "bob"))?.admin, true);
        await signInExternal(database, quiet, identity({ admin: false }));
        assert.equal((await findUser(database, "bob"))?.admin, false);
        await setAdmin(database, made.userId, true);
        await signInExternal(database, quiet, identity({ admin: null }));
        assert.equal((await findUser(database, "bob"))?.admin, true, "an administrator's promotion stays");
      } finally {
        await close();
      }
    });

    test("another way's account of the same name is not taken over; a disabled user is refused", async () => {
      const { database, close } = await openBackendDatabase(backend);
      try {
        await createUser(database, { username: "mari", provider: "local", passwordHash: "x" });
        const refused = await signInExternal(database, quiet, identity({ username: "MARI" }));
        assert.match(
          "refused" in refused ? refused.refused : "",
          /already exists here and signs in another way \(local\)/,
        );
        assert.equal((await findUser(database, "mari"))?.provider, "local");
        const oidc = await signInExternal(database, quiet, identity({ provider: "oidc" }));
        assert.ok("userId" in oidc);
        assert.ok("refused" in (await signInExternal(database, quiet, identity({ provider: "ldap" }))));
        await setDisabled(database, oidc.userId, true);
        const disabled = await signInExternal(database, quiet, identity({ provider: "oidc" }));
        assert.match("refused" in disabled ? disabled.refused : "", /disabled/);
      } finally {
        await close();
      }
    });

    test("two first sign-ins at once make one user", async () => {
      const { database, close } = await openBackendDatabase(backend);
      try {
        const [a, b] = await Promise.all([
          signInExternal(database, quiet, identity()),
          signInExternal(database, quiet, identity()),
        ]);
        assert.ok(a && b && "userId" in a && "userId" in b);
        assert.equal(a.userId, b.userId);
        assert.deepEqual(await grants(database, a.userId), [{ instrument: "MARI", granted_by: "ldap" }]);
      } finally {
        await close();
      }
    });
  });
}
