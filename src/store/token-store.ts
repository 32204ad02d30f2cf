import { createHash, randomBytes } from "node:crypto";
import type { Selectable } from "kysely";
import { RefusedError } from "../failures/refused-error.ts";
import type { ApiTokensTable } from "./schema.ts";
import type { SqlDatabase } from "./state-database.ts";

/**
 * API tokens, one per holder (a person, a script, a beamline computer).
 *
 * A token is 32 random bytes: guessing it is hopeless however fast the guesses, so a plain
 * SHA-256 of it is enough to store (a slow password hash such as argon2 is there to protect
 * low-entropy secrets people choose, and would cost every API request tens of milliseconds).
 * Only the hash is kept: the token is shown once, when it is made.
 */

/** What a token allows; the web turns it into a Viewer (web/auth/request-viewer.ts, web/auth/viewer.ts). */
export type TokenRole = "admin" | "scientist" | "read" | "user";
export const TOKEN_ROLES: readonly TokenRole[] = ["admin", "scientist", "read"];

/** A token holder as the API sees it after authentication (never the secret, never its hash). */
export interface TokenHolder {
  id: number;
  name: string;
  role: TokenRole;
  /** Instruments a `scientist` may change (upper case); empty for other roles. */
  instruments: string[];
  /** A personal token (role `user`): the person it acts as, with their permissions. */
  userId: number | null;
}

/** A token as `autoreduce token list` shows it. */
export interface TokenRecord extends TokenHolder {
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** A token cannot be made as asked (bad role, name taken); nothing was stored. */
export class TokenRefused extends RefusedError {
  override readonly name = "TokenRefused";
}

/** Tokens start with this, so that secret scanners and people can recognise one. */
const PREFIX = "ar_";
/** `last_used_at` is written at most this often per token, so that reads do not become writes. */
const LAST_USED_RESOLUTION_MS = 60_000;
const INSTRUMENT = /^[A-Za-z0-9_]+$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/;

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * `admin`, `read`, `scientist` with `instruments`, or the short form `scientist:MARI,WISH`.
 * Pure; throws TokenRefused with what is wrong.
 */
export function parseTokenRole(
  role: string,
  instruments: string[] = [],
): Omit<TokenHolder, "id" | "name" | "userId"> {
  const [base = "", listed] = role.split(":", 2);
  const all = [...(listed ? listed.split(",") : []), ...instruments].map((i) => i.trim()).filter(Boolean);
  if (!TOKEN_ROLES.includes(base as TokenRole))
    throw new TokenRefused(`unknown role "${base}": use admin, scientist:<INSTRUMENT>[,...] or read`);
  for (const i of all) if (!INSTRUMENT.test(i)) throw new TokenRefused(`bad instrument name "${i}"`);
  if (base === "scientist" && all.length === 0)
    throw new TokenRefused("a scientist token needs its instruments (--instrument NAME, or scientist:NAME)");
  if (base !== "scientist" && all.length > 0)
    throw new TokenRefused(`a ${base} token takes no instruments (only scientist tokens are per instrument)`);
  return { role: base as TokenRole, instruments: [...new Set(all.map((i) => i.toUpperCase()))].sort() };
}

/** Makes a token; returns the secret (shown once, stored nowhere) and its record. */
export async function createToken(
  database: SqlDatabase,
  wanted: {
    name: string;
    role: string;
    instruments?: string[];
    expiresAt?: number | null;
    createdBy?: string | null;
    /** A personal token: acts as this user (its role is then `user`, whatever `role` says). */
    userId?: number | null;
  },
  now = Date.now(),
): Promise<{ token: string; record: TokenRecord }> {
  if (!NAME.test(wanted.name))
    throw new TokenRefused(`bad token name "${wanted.name}": letters, digits and _ . @ - (up to 100)`);
  if (/^\d+$/.test(wanted.name)) throw new TokenRefused("a token name cannot be only digits (ids are)");
  const userId = wanted.userId ?? null;
  const { role, instruments } =
    userId === null
      ? parseTokenRole(wanted.role, wanted.instruments)
      : { role: "user" as TokenRole, instruments: [] };
  const taken = await database.db
    .selectFrom("api_tokens")
    .select("id")
    .where("name", "=", wanted.name)
    .executeTakeFirst();
  if (taken)
    throw new TokenRefused(`a token named "${wanted.name}" exists (revoke it, or choose another name)`);
  const token = `${PREFIX}${randomBytes(32).toString("base64url")}`;
  const row = await database.db
    .insertInto("api_tokens")
    .values({
      name: wanted.name,
      token_hash: hashToken(token),
      role,
      instruments: JSON.stringify(instruments),
      created_by: wanted.createdBy ?? null,
      created_at: now,
      expires_at: wanted.expiresAt ?? null,
      revoked_at: null,
      last_used_at: null,
      user_id: userId,
    })
    .returning(["id"])
    .executeTakeFirstOrThrow();
  return {
    token,
    record: {
      id: Number(row.id),
      name: wanted.name,
      role,
      instruments,
      created_by: wanted.createdBy ?? null,
      created_at: now,
      expires_at: wanted.expiresAt ?? null,
      revoked_at: null,
      last_used_at: null,
      userId,
    },
  };
}

const COLUMNS = [
  "id",
  "name",
  "role",
  "instruments",
  "created_by",
  "created_at",
  "expires_at",
  "revoked_at",
  "last_used_at",
  "user_id",
] as const;

/** A token row as read for people: everything but the hash. */
type Row = Omit<Selectable<ApiTokensTable>, "token_hash">;

function record(row: Row): TokenRecord {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: Number(row.id),
    name: row.name,
    role: row.role as TokenRole,
    instruments: JSON.parse(row.instruments) as string[],
    created_by: row.created_by,
    created_at: Number(row.created_at),
    expires_at: n(row.expires_at),
    revoked_at: n(row.revoked_at),
    last_used_at: n(row.last_used_at),
    userId: n(row.user_id),
  };
}

/** Every token, revoked ones too, oldest first. */
export async function listTokens(database: SqlDatabase): Promise<TokenRecord[]> {
  const rows = await database.db.selectFrom("api_tokens").select(COLUMNS).orderBy("id").execute();
  return rows.map(record);
}

/** Revokes the token with this name (or numeric id); null when there is none not yet revoked. */
export async function revokeToken(
  database: SqlDatabase,
  nameOrId: string,
  now = Date.now(),
): Promise<TokenRecord | null> {
  const row = await database.db
    .updateTable("api_tokens")
    .set({ revoked_at: now })
    .where((eb) => (/^\d+$/.test(nameOrId) ? eb("id", "=", Number(nameOrId)) : eb("name", "=", nameOrId)))
    .where("revoked_at", "is", null)
    .returning(COLUMNS)
    .executeTakeFirst();
  return row ? record(row) : null;
}

/**
 * The holder of a token that is known, not revoked and not expired, else null; records its use.
 * The lookup is by hash, so the secret is never compared (or logged) as it was given.
 */
export async function authenticateToken(
  database: SqlDatabase,
  token: string,
  now = Date.now(),
): Promise<TokenHolder | null> {
  if (!token.startsWith(PREFIX)) return null;
  const row = await database.db
    .selectFrom("api_tokens")
    .select(COLUMNS)
    .where("token_hash", "=", hashToken(token))
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
    .executeTakeFirst();
  if (!row) return null;
  await database.db
    .updateTable("api_tokens")
    .set({ last_used_at: now })
    .where("id", "=", row.id)
    .where((eb) =>
      eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<", now - LAST_USED_RESOLUTION_MS)]),
    )
    .execute();
  const { id, name, role, instruments, userId } = record(row);
  return { id, name, role, instruments, userId };
}
