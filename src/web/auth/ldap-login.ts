import { Client, EqualityFilter, NoSuchObjectError, OrFilter, ResultCodeError } from "ldapts";
import type { Config } from "../../config/load-config.ts";
import type { Logger } from "../../logging/logger.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import { type LoginMethod, ProviderUnavailable } from "../pages/login-page.tsx";
import { externalUsername, signInExternal } from "./external-accounts.ts";

export type LdapConfig = NonNullable<Config["web"]["ldap"]>;

/**
 * Escapes a value for an RDN of a DN (RFC 4514 §2.4): `\` before `"+,;<>\=` and before a leading
 * `#` or space or a trailing space; NUL as `\00`. User names are already limited to letters,
 * digits and `_.@-`, so this is the second wall, not the first.
 */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\"+,;<>=]/g, (c) => `\\${c}`)
    .replace(/\0/g, "\\00")
    .replace(/^[#\s]/, (c) => `\\${c}`)
    .replace(/\s$/, (c) => `\\${c}`);
}

/** The DN a user name binds as: `web.ldap.user_dn` with `{username}` replaced, escaped. */
export function userDn(ldap: LdapConfig, username: string): string {
  const value = escapeDnValue(username);
  return ldap.user_dn.replaceAll("{username}", () => value); // a function: no `$&` patterns
}

/**
 * Sign-in by LDAP bind. The person's own DN and password are the only credentials used (no
 * service account): bound as themselves, we read their entry (`displayName`/`cn`, `mail`) and
 * whether each configured group lists them (`member` or `uniqueMember`), which gives their roles
 * (external-accounts.ts). A wrong password or unknown person is "not signed in" (null); a
 * directory that does not answer within `timeout_seconds` is a ProviderUnavailable, so the form
 * says so instead of "wrong password".
 */
export function ldapLogin(ldap: LdapConfig, database: SqlDatabase, log: Logger): LoginMethod {
  return {
    provider: "ldap",
    checkPassword: async (typed, password) => {
      // An LDAP simple bind with an empty password is an anonymous bind, which "succeeds".
      if (password.length === 0) return null;
      const username = externalUsername(typed);
      if (username === null) {
        log.info({ provider: "ldap" }, "web: LDAP sign-in refused: not a valid user name (no bind tried)");
        return null;
      }
      const person = await bindAndRead(ldap, username, password, log);
      if (person === null) return null;
      const outcome = await signInExternal(database, log, {
        provider: "ldap",
        username,
        displayName: person.displayName,
        email: person.email,
        admin: ldap.admin_groups.length > 0 ? ldap.admin_groups.some((g) => person.groups.has(g)) : null,
        instruments: Object.entries(ldap.scientist_groups)
          .filter(([, groups]) => groups.some((g) => person.groups.has(g)))
          .map(([instrument]) => instrument),
      });
      return "userId" in outcome ? outcome.userId : null;
    },
  };
}

interface DirectoryPerson {
  displayName: string | null;
  email: string | null;
  /** The configured group DNs (as written in the config) that list this person. */
  groups: Set<string>;
}

/** Binds as the person and reads what we need; null for wrong credentials. */
async function bindAndRead(
  ldap: LdapConfig,
  username: string,
  password: string,
  log: Logger,
): Promise<DirectoryPerson | null> {
  const ms = ldap.timeout_seconds * 1000;
  const client = new Client({ url: ldap.url, timeout: ms, connectTimeout: ms });
  const dn = userDn(ldap, username);
  try {
    try {
      await client.bind(dn, password);
    } catch (e) {
      if (e instanceof ResultCodeError) {
        // invalidCredentials (wrong password or no such person), or the directory refusing this bind.
        log.info({ username, code: e.code, reason: e.message }, "web: LDAP bind refused");
        return null;
      }
      throw e;
    }
    const [entry, groups] = await Promise.all([readEntry(client, dn), memberships(client, ldap, dn, log)]);
    return { ...entry, groups };
  } catch (e) {
    if (e instanceof ResultCodeError) throw e;
    log.warn({ url: ldap.url, reason: (e as Error).message }, "web: LDAP directory did not answer");
    throw new ProviderUnavailable(
      "Sign-in with your facility account is not working right now: the directory (LDAP) did not answer. " +
        "Try again in a few minutes; if it goes on, tell the operators. Local accounts still work.",
    );
  } finally {
    await client.unbind().catch(() => {});
  }
}

const first = (value: unknown): string | null => {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === "string" && v.length > 0 ? v.slice(0, 200) : null;
};

/** The person's name and e-mail, if their entry lets them read it. */
async function readEntry(
  client: Client,
  dn: string,
): Promise<{ displayName: string | null; email: string | null }> {
  const { searchEntries } = await client
    .search(dn, { scope: "base", attributes: ["displayName", "cn", "mail"] })
    .catch((e: unknown) => {
      if (e instanceof ResultCodeError) return { searchEntries: [] };
      throw e;
    });
  const entry = searchEntries[0];
  return {
    displayName: first(entry?.displayName) ?? first(entry?.cn),
    email: first(entry?.mail),
  };
}

/**
 * The configured groups that list `dn`: one base search of each group with the filter
 * `(|(member=DN)(uniqueMember=DN))`, so the directory compares DNs by its own rules (case,
 * spacing) and a large group's member list never crosses the wire. A group that does not exist
 * or cannot be read is a configuration mistake: logged, and counted as not a member.
 */
async function memberships(client: Client, ldap: LdapConfig, dn: string, log: Logger): Promise<Set<string>> {
  const groups = [...new Set([...ldap.admin_groups, ...Object.values(ldap.scientist_groups).flat()])];
  const filter = new OrFilter({
    filters: [
      new EqualityFilter({ attribute: "member", value: dn }),
      new EqualityFilter({ attribute: "uniqueMember", value: dn }),
    ],
  });
  const listed = await Promise.all(
    groups.map(async (group) => {
      try {
        const { searchEntries } = await client.search(group, { scope: "base", filter, attributes: ["1.1"] });
        return searchEntries.length > 0 ? group : null;
      } catch (e) {
        if (!(e instanceof ResultCodeError)) throw e;
        log.warn(
          { group, reason: e instanceof NoSuchObjectError ? "no such entry" : e.message },
          "web: LDAP group in web.ldap cannot be read by its members; nobody gets its role",
        );
        return null;
      }
    }),
  );
  return new Set(listed.filter((g): g is string => g !== null));
}
