import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SqlDatabase } from "../../store/state-database.ts";
import { createUser, findUser, setPasswordHash } from "../../store/user-store.ts";
import { hashPassword } from "./passwords.ts";

/** The demo's sign-in: `DIR/demo-credentials`, one line "user password" (mode 0600). */
export const DEMO_CREDENTIALS_FILE = "demo-credentials";
export const DEMO_ADMIN = "admin";

/**
 * Makes sure the demo has an administrator that can sign in: a local `admin` account with a
 * generated password, written to `DIR/demo-credentials`. On a later start with the same folder
 * the account and file are kept (the password is not printed again: it is in the file).
 * Returns the password when it was made now, null when it already existed.
 */
export async function ensureDemoLogin(
  database: SqlDatabase,
  dataDir: string,
): Promise<{ file: string; username: string; password: string | null }> {
  const file = join(dataDir, DEMO_CREDENTIALS_FILE);
  const existing = await findUser(database, DEMO_ADMIN);
  if (existing && existsSync(file)) return { file, username: DEMO_ADMIN, password: null };
  const password = randomBytes(12).toString("base64url");
  const hashed = await hashPassword(password);
  if (existing) await setPasswordHash(database, existing.id, hashed);
  else
    await createUser(database, {
      username: DEMO_ADMIN,
      provider: "local",
      passwordHash: hashed,
      admin: true,
      displayName: "Demo administrator",
    });
  writeFileSync(file, `${DEMO_ADMIN} ${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { file, username: DEMO_ADMIN, password };
}
