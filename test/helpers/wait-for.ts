/**
 * How much longer than written every deadline is. A deadline only turns a hang into a readable
 * failure; it never makes a passing test pass sooner. On a loaded 2-core machine (CI, or several
 * test runs at once) a process start can take ten times as long as on a quiet one, so deadlines
 * are stretched by default; `AUTOREDUCE_TEST_TIME_SCALE=1` gives the written values.
 */
export const TIME_SCALE = Math.max(1, Number(process.env.AUTOREDUCE_TEST_TIME_SCALE ?? 3) || 3);

/** Polls `check` until it returns a truthy value or the deadline passes; never a fixed sleep. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const limit = timeoutMs * TIME_SCALE;
  const deadline = Date.now() + limit;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${limit} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
