import { findExecutable } from "../../src/executors/executable-path.ts";
import { aptInstall } from "./process-tools.ts";

/** What the browser tests are told (test/helpers/browser.ts reads it). */
export const CHROMIUM_ENV = "AUTOREDUCE_TEST_CHROMIUM";

/** Debian's browser: `chromium` on PATH (a launcher script in /usr/bin). */
export function findChromium(): string | null {
  return findExecutable("chromium") ?? findExecutable("/usr/bin/chromium");
}

/**
 * Headless Chromium for the browser tests: the one on PATH, else Debian's `chromium` installed
 * with apt-get (as root; about 480 MB, so only when it is missing). Returns its path, or throws
 * saying why there is none. The caller decides what a missing browser means (in CI: a failed run).
 */
export function ensureChromium(): string {
  const found = findChromium();
  if (found) return found;
  if (process.getuid?.() !== 0)
    throw new Error("Chromium is not installed and only root can install it: apt-get install chromium");
  aptInstall(["chromium"]);
  const installed = findChromium();
  if (!installed) throw new Error("apt-get installed chromium, but no `chromium` is on PATH");
  return installed;
}

/**
 * The browser for `services start`: its path, or null when there is none outside CI (said on
 * stderr; the browser tests then fail, saying so, and the other tests still run). In CI
 * (`CI=true`) a missing browser fails the start, so browser tests are never skipped silently.
 */
export function chromiumForTests(): string | null {
  try {
    return ensureChromium();
  } catch (e) {
    if (process.env.CI === "true") throw e;
    console.error(`services: no Chromium, the browser tests will fail: ${(e as Error).message}`);
    return null;
  }
}
