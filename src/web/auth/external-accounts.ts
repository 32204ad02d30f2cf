import type { Logger } from "../../logging/logger.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import { createUser, findUser, USERNAME } from "../../store/user-store.ts";

/** Someone a directory (LDAP) or identity provider (OIDC) vouched for, with the roles its groups give. */
export interface ExternalIdentity {
  provider: "ldap" | "oidc";
  /** As the provider names them; checked against USERNAME and kept in lower case. */
  username: string;
  displayName: string | null;
  email: string | null;
  /**
   * Administrator by the provider's groups; null when the provider decides nothing about it (no
   * `admin_groups` configured), so that an administrator's own promotion stays.
   */
  admin: boolean | null;
  /** Instruments the provider's groups make them a scientist of. */
  instruments: string[];
}

export type ExternalSignIn = { userId: number } | { refused: string };

/**
 * The user name a provider's name becomes here: lower case (directories compare names without
 * case, so `Bob` and `bob` are one person), or null when it is not a name we accept (which also
 * keeps DN and filter syntax out of every LDAP request).
 */
export function externalUsername(name: unknown): string | null {
  if (typeof name !== "string") return null;
  const lower = name.toLowerCase();
  return USERNAME.test(lower) ? lower : null;
}

/**
 * Records a sign-in vouched for by a provider: creates the user the first time (`provider` set, no
 * password), refreshes their name and e-mail, and makes their roles what the provider's groups
 * say. Instrument roles the provider gave earlier are marked (`granted_by` = the provider) and
 * replaced; roles an administrator gave stay. A user of the same name who signs in another way
 * (a local account, or the other provider) is never taken over: refused, and logged so that an
 * operator can see why someone cannot sign in. A disabled user is refused too.
 */
export async function signInExternal(
  database: SqlDatabase,
  log: Logger,
  who: ExternalIdentity,
  now = Date.now(),
): Promise<ExternalSignIn> {
  const username = externalUsername(who.username);
  if (username === null) return { refused: `"${who.username}" is not a user name this site accepts` };
  let user = await findUser(database, username);
  if (user && user.provider !== who.provider) {
    log.warn(
      { username, provider: who.provider, account: user.provider },
      `web: ${who.provider} sign-in refused: a ${user.provider} account of that name exists and is not taken over`,
    );
    return {
      refused: `an account named "${username}" already exists here and signs in another way (${user.provider}); ask an administrator`,
    };
  }
  if (user?.disabled_at != null) {
    log.info({ username, provider: who.provider }, "web: sign-in refused: the account is disabled");
    return { refused: `the account "${username}" is disabled; ask an administrator` };
  }
  if (!user) {
    user = await createUser(
      database,
      {
        username,
        provider: who.provider,
        admin: who.admin ?? false,
        displayName: who.displayName,
        email: who.email,
      },
      now,
    ).catch(async (e: unknown) => {
      // Two first sign-ins at once: the other one made the user (its check or the unique index refused ours).
      const made = await findUser(database, username);
      if (made?.provider === who.provider) return made;
      throw e;
    });
  }
  await syncRoles(database, user.id, who, now);
  return { userId: user.id };
}

/** Name, e-mail, admin flag (when the provider decides it) and the provider's instrument roles, in one transaction. */
async function syncRoles(database: SqlDatabase, userId: number, who: ExternalIdentity, now: number) {
  const instruments = [...new Set(who.instruments.map((i) => i.toUpperCase()))];
  const changes = {
    ...(who.displayName !== null ? { display_name: who.displayName } : {}),
    ...(who.email !== null ? { email: who.email } : {}),
    ...(who.admin !== null ? { admin: who.admin ? 1 : 0 } : {}),
  };
  await database.transaction(async (trx) => {
    if (Object.keys(changes).length > 0)
      await trx.updateTable("users").set(changes).where("id", "=", userId).execute();
    let stale = trx
      .deleteFrom("user_instruments")
      .where("user_id", "=", userId)
      .where("granted_by", "=", who.provider);
    if (instruments.length > 0) stale = stale.where("instrument", "not in", instruments);
    await stale.execute();
    if (instruments.length === 0) return;
    await trx
      .insertInto("user_instruments")
      .values(
        instruments.map((instrument) => ({
          user_id: userId,
          instrument,
          role: "scientist",
          granted_by: who.provider,
          granted_at: now,
        })),
      )
      // An administrator's grant of the same instrument stays theirs.
      .onConflict((oc) => oc.columns(["user_id", "instrument"]).doNothing())
      .execute();
  });
}
