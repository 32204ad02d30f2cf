import type { Selectable } from "kysely";
import { RefusedError } from "../failures/refused-error.ts";
import type { UsersTable } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/** People who sign in, their instrument roles and experiment memberships (migration 008). */

export type LoginProvider = "local" | "ldap" | "oidc";

/** A user as pages and the API show one (never the password hash). */
export interface UserRecord {
  id: number;
  username: string;
  display_name: string | null;
  email: string | null;
  provider: LoginProvider;
  admin: boolean;
  preferences: Record<string, unknown>;
  created_at: number;
  last_login_at: number | null;
  disabled_at: number | null;
}

/** What a user may do, as the permission model needs it (web/auth/viewer.ts). */
export interface UserGrants {
  admin: boolean;
  /** Instruments (upper case) the user is a scientist of. */
  scientistOf: string[];
  /** Experiments the user is a member of. */
  memberOf: string[];
}

/** A user cannot be made or changed as asked; nothing was stored. */
export class UserRefused extends RefusedError {
  override readonly name = "UserRefused";
}

export const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/;
const INSTRUMENT = /^[A-Za-z0-9_]+$/;

export function checkUsername(username: string): string {
  if (!USERNAME.test(username))
    throw new UserRefused(`bad user name "${username}": letters, digits and _ . @ - (up to 100)`);
  return username;
}

const COLUMNS = [
  "id",
  "username",
  "display_name",
  "email",
  "provider",
  "admin",
  "preferences",
  "created_at",
  "last_login_at",
  "disabled_at",
] as const;

function record(row: Omit<Selectable<UsersTable>, "password_hash">): UserRecord {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: Number(row.id),
    username: row.username,
    display_name: row.display_name,
    email: row.email,
    provider: row.provider as LoginProvider,
    admin: Number(row.admin) === 1,
    preferences: JSON.parse(row.preferences) as Record<string, unknown>,
    created_at: Number(row.created_at),
    last_login_at: n(row.last_login_at),
    disabled_at: n(row.disabled_at),
  };
}

export async function createUser(
  database: SqlDatabase,
  wanted: {
    username: string;
    provider: LoginProvider;
    passwordHash?: string | null;
    admin?: boolean;
    displayName?: string | null;
    email?: string | null;
  },
  now = Date.now(),
): Promise<UserRecord> {
  checkUsername(wanted.username);
  const taken = await findUser(database, wanted.username);
  if (taken) throw new UserRefused(`a user named "${wanted.username}" exists`);
  const row = await database.db
    .insertInto("users")
    .values({
      username: wanted.username,
      display_name: wanted.displayName ?? null,
      email: wanted.email ?? null,
      password_hash: wanted.passwordHash ?? null,
      provider: wanted.provider,
      admin: wanted.admin ? 1 : 0,
      preferences: "{}",
      created_at: now,
      last_login_at: null,
      disabled_at: null,
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return record(row);
}

export async function findUser(database: SqlDatabase, username: string): Promise<UserRecord | null> {
  const row = await database.db
    .selectFrom("users")
    .select(COLUMNS)
    .where("username", "=", username)
    .executeTakeFirst();
  return row ? record(row) : null;
}

export async function userById(database: SqlDatabase, id: number): Promise<UserRecord | null> {
  const row = await database.db.selectFrom("users").select(COLUMNS).where("id", "=", id).executeTakeFirst();
  return row ? record(row) : null;
}

/** The stored argon2 hash of a local account (null: none, or not a local account). */
export async function passwordHashOf(database: SqlDatabase, username: string): Promise<string | null> {
  const row = await database.db
    .selectFrom("users")
    .select(["password_hash", "provider", "disabled_at"])
    .where("username", "=", username)
    .executeTakeFirst();
  if (!row || row.provider !== "local" || row.disabled_at !== null) return null;
  return row.password_hash;
}

export async function setPasswordHash(database: SqlDatabase, userId: number, passwordHash: string) {
  await database.db
    .updateTable("users")
    .set({ password_hash: passwordHash })
    .where("id", "=", userId)
    .execute();
}

export async function listUsers(database: SqlDatabase): Promise<UserRecord[]> {
  const rows = await database.db.selectFrom("users").select(COLUMNS).orderBy("username").execute();
  return rows.map(record);
}

export async function setAdmin(database: SqlDatabase, userId: number, admin: boolean): Promise<void> {
  await database.db
    .updateTable("users")
    .set({ admin: admin ? 1 : 0 })
    .where("id", "=", userId)
    .execute();
}

/** Disables (or re-enables) a user; disabling ends their sessions. */
export async function setDisabled(
  database: SqlDatabase,
  userId: number,
  disabled: boolean,
  now = Date.now(),
) {
  await database.db
    .updateTable("users")
    .set({ disabled_at: disabled ? now : null })
    .where("id", "=", userId)
    .execute();
  if (disabled) await database.db.deleteFrom("sessions").where("user_id", "=", userId).execute();
}

export async function recordLogin(database: SqlDatabase, userId: number, now = Date.now()): Promise<void> {
  await database.db.updateTable("users").set({ last_login_at: now }).where("id", "=", userId).execute();
}

export async function setPreferences(
  database: SqlDatabase,
  userId: number,
  preferences: Record<string, unknown>,
): Promise<void> {
  await database.db
    .updateTable("users")
    .set({ preferences: JSON.stringify(preferences) })
    .where("id", "=", userId)
    .execute();
}

/** Makes `userId` a scientist of `instrument` (again: a no-op). */
export async function grantInstrument(
  database: SqlDatabase,
  userId: number,
  instrument: string,
  by: string | null,
  now = Date.now(),
): Promise<void> {
  if (!INSTRUMENT.test(instrument)) throw new UserRefused(`bad instrument name "${instrument}"`);
  await database.db
    .insertInto("user_instruments")
    .values({
      user_id: userId,
      instrument: instrument.toUpperCase(),
      role: "scientist",
      granted_by: by,
      granted_at: now,
    })
    .onConflict((oc) => oc.columns(["user_id", "instrument"]).doNothing())
    .execute();
}

export async function revokeInstrument(
  database: SqlDatabase,
  userId: number,
  instrument: string,
): Promise<void> {
  await database.db
    .deleteFrom("user_instruments")
    .where("user_id", "=", userId)
    .where("instrument", "=", instrument.toUpperCase())
    .execute();
}

/** Adds `username` to an experiment (again: a no-op). */
export async function addMember(
  database: SqlDatabase,
  experiment: string,
  username: string,
  source: "catalog" | "local",
  now = Date.now(),
): Promise<void> {
  checkUsername(username);
  await database.db
    .insertInto("experiment_members")
    .values({ experiment, username, source, added_at: now })
    .onConflict((oc) => oc.columns(["experiment", "username"]).doNothing())
    .execute();
}

export async function removeMember(
  database: SqlDatabase,
  experiment: string,
  username: string,
): Promise<void> {
  await database.db
    .deleteFrom("experiment_members")
    .where("experiment", "=", experiment)
    .where("username", "=", username)
    .execute();
}

export async function experimentMembers(database: SqlDatabase, experiment: string): Promise<string[]> {
  const rows = await database.db
    .selectFrom("experiment_members")
    .select("username")
    .where("experiment", "=", experiment)
    .orderBy("username")
    .execute();
  return rows.map((r) => r.username);
}

/** The user's roles and memberships (an unknown or disabled user has none). */
export async function userGrants(database: SqlDatabase, user: UserRecord): Promise<UserGrants> {
  if (user.disabled_at !== null) return { admin: false, scientistOf: [], memberOf: [] };
  const [instruments, members] = await Promise.all([
    database.db.selectFrom("user_instruments").select("instrument").where("user_id", "=", user.id).execute(),
    database.db
      .selectFrom("experiment_members")
      .select("experiment")
      .where("username", "=", user.username)
      .execute(),
  ]);
  return {
    admin: user.admin,
    scientistOf: instruments.map((r) => r.instrument),
    memberOf: members.map((r) => r.experiment),
  };
}

/** The instruments each user is a scientist of, by user id (for the admin page). */
export async function instrumentRoles(database: SqlDatabase): Promise<Map<number, string[]>> {
  const rows = await database.db
    .selectFrom("user_instruments")
    .select(["user_id", "instrument"])
    .orderBy("instrument")
    .execute();
  const out = new Map<number, string[]>();
  for (const r of rows) out.set(Number(r.user_id), [...(out.get(Number(r.user_id)) ?? []), r.instrument]);
  return out;
}
