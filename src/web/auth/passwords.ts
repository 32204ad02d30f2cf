import { type Algorithm, hash, verify } from "@node-rs/argon2";

/** `Algorithm.Argon2id` (a const enum, which cannot be imported as a value here). */
const ARGON2ID = 2 as Algorithm;

/**
 * Local account passwords: argon2id with OWASP's second recommended setting (19 MiB, 2 passes,
 * 1 lane): about 30 ms on one core here, a cost an online guesser pays per try.
 */
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** The shortest password a local account may have. */
export const MIN_PASSWORD_LENGTH = 10;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** A hash of nothing, verified against when the user is unknown, so timing does not tell who exists. */
let dummy: Promise<string> | null = null;

export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (stored === null) {
    dummy ??= hashPassword("no such user: a dummy password");
    await verify(await dummy, password).catch(() => false);
    return false;
  }
  return verify(stored, password).catch(() => false);
}
