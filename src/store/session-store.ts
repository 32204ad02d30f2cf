import { createHash, randomBytes } from "node:crypto";
import type { SqlDatabase } from "./state-database.ts";

/**
 * Sign-in sessions, kept in the database so that every web process (and a restart) sees them.
 * The cookie holds 32 random bytes; only their SHA-256 is stored, so a copy of the database
 * signs nobody in. Each session has its own CSRF token.
 */

export interface Session {
  userId: number;
  csrfToken: string;
  provider: string;
  expiresAt: number;
}

/** `last_seen_at` is written at most this often, so that page views do not all become writes. */
const TOUCH_EVERY_MS = 60_000;

const digest = (id: string) => createHash("sha256").update(id).digest("hex");

/** A new session; returns the cookie value (the only copy of the secret). */
export async function createSession(
  database: SqlDatabase,
  userId: number,
  provider: string,
  lifetimeMs: number,
  now = Date.now(),
): Promise<{ id: string; csrfToken: string }> {
  const id = randomBytes(32).toString("base64url");
  const csrfToken = randomBytes(24).toString("base64url");
  await database.db
    .insertInto("sessions")
    .values({
      id_hash: digest(id),
      user_id: userId,
      csrf_token: csrfToken,
      created_at: now,
      last_seen_at: now,
      expires_at: now + lifetimeMs,
      provider,
    })
    .execute();
  return { id, csrfToken };
}

/** The session of a cookie value, if it exists and has not expired (idle sessions expire too). */
export async function findSession(
  database: SqlDatabase,
  id: string,
  idleMs: number,
  now = Date.now(),
): Promise<Session | null> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(id)) return null;
  const row = await database.db
    .selectFrom("sessions")
    .selectAll()
    .where("id_hash", "=", digest(id))
    .executeTakeFirst();
  if (!row) return null;
  if (Number(row.expires_at) <= now || Number(row.last_seen_at) + idleMs <= now) {
    await database.db.deleteFrom("sessions").where("id_hash", "=", row.id_hash).execute();
    return null;
  }
  if (Number(row.last_seen_at) + TOUCH_EVERY_MS < now)
    await database.db
      .updateTable("sessions")
      .set({ last_seen_at: now })
      .where("id_hash", "=", row.id_hash)
      .execute();
  return {
    userId: Number(row.user_id),
    csrfToken: row.csrf_token,
    provider: row.provider,
    expiresAt: Number(row.expires_at),
  };
}

export async function deleteSession(database: SqlDatabase, id: string): Promise<void> {
  await database.db.deleteFrom("sessions").where("id_hash", "=", digest(id)).execute();
}

/** Removes expired sessions (called now and then by the web process). */
export async function purgeSessions(database: SqlDatabase, now = Date.now()): Promise<number> {
  const result = await database.db.deleteFrom("sessions").where("expires_at", "<=", now).executeTakeFirst();
  return Number(result.numDeletedRows ?? 0);
}
