import { RefusedError } from "../failures/refused-error.ts";

/**
 * Memory sizes as people write them in configuration ("70%", "11GiB", "512 MB") and as the
 * executor writes them in kill messages ("12.3 GiB"). Pure functions.
 */

const KIB = 1024;

/** Units binary (KiB, MiB…) by their `i`, decimal (kB, MB…) by their `B`; a bare letter (`2G`) is binary, as in Slurm, Docker and Java. */
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  k: KIB,
  kib: KIB,
  kb: 1e3,
  m: KIB ** 2,
  mib: KIB ** 2,
  mb: 1e6,
  g: KIB ** 3,
  gib: KIB ** 3,
  gb: 1e9,
  t: KIB ** 4,
  tib: KIB ** 4,
  tb: 1e12,
};

/** A memory limit that cannot be understood; thrown while reading configuration, so no retry helps. */
export class MemoryLimitError extends RefusedError {
  override readonly name = "MemoryLimitError";
  constructor(
    readonly text: string,
    override readonly reason: string,
  ) {
    super(`bad memory limit "${text}": ${reason}`);
  }
}

/**
 * Bytes meant by a memory limit: a share of the machine's memory (`"70%"`) or a size with an
 * optional unit (`"11GiB"`, `"512 MB"`, `"2G"`, `"1048576"`). Units are case-insensitive. Limits
 * are written by people in config files, so anything else is refused with a clear error rather
 * than guessed at.
 */
export function parseMemoryLimit(text: string, totalMemoryBytes: number): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%|[a-z]*)\s*$/i.exec(text);
  if (!match) throw new MemoryLimitError(text, 'expected a number with a unit ("11GiB", "512 MB") or "70%"');
  const amount = Number(match[1]);
  const unit = (match[2] ?? "").toLowerCase();
  if (unit === "%") {
    if (amount <= 0 || amount > 100)
      throw new MemoryLimitError(text, "a percentage must be above 0 and at most 100");
    return Math.floor((totalMemoryBytes * amount) / 100);
  }
  const scale = UNIT_BYTES[unit || "b"];
  if (scale === undefined)
    throw new MemoryLimitError(
      text,
      `unknown unit "${match[2]}" (use B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)`,
    );
  const bytes = Math.floor(amount * scale);
  if (bytes <= 0) throw new MemoryLimitError(text, "a limit must be at least one byte");
  return bytes;
}

const BINARY_UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];

/**
 * Bytes meant by a size written with an optional unit (`"64MiB"`, `"512 kB"`, `"1048576"`), as
 * for a memory limit but without the share of the machine (`%` is refused: a log's size has
 * nothing to do with the machine's memory). Throws `MemoryLimitError`.
 */
export function parseByteSize(text: string): number {
  if (text.includes("%")) throw new MemoryLimitError(text, 'a size, not a percentage ("64MiB", "512 kB")');
  return parseMemoryLimit(text, 0);
}

/**
 * A byte count for people: `512 B`, `1.5 KiB`, `12.3 GiB` (binary units, `digits` decimals), as
 * written in kill messages and usage reports.
 */
export function formatBytes(bytes: number, digits = 1): string {
  if (Math.abs(bytes) < KIB) return `${Math.round(bytes)} B`;
  let value = bytes / KIB;
  let unit = 0;
  // Compare the rounded text so that 1023.96 KiB becomes 1.0 MiB, not 1024.0 KiB.
  while (unit < BINARY_UNITS.length - 1 && Math.abs(Number(value.toFixed(digits))) >= KIB) {
    value /= KIB;
    unit++;
  }
  return `${value.toFixed(digits)} ${BINARY_UNITS[unit]}`;
}
