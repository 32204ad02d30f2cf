/** pino's level numbers, by name. */
const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

/** Fields every line has, which the short form shows in its own way or leaves out. */
const SHOWN_APART = new Set(["level", "time", "pid", "hostname", "name", "msg", "err", "v"]);

/**
 * Pure: one JSON log line (pino's) as a short human line, `12:03:04  WARN  worker: job refused
 * message_id=7`, with an error's message after it. A line that is not a JSON object is returned as
 * it is. Times are shown in the local time zone.
 */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return line;
    entry = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof entry.time === "number" ? new Date(entry.time).toLocaleTimeString() : "";
  const level = (LEVEL_NAMES[Number(entry.level)] ?? String(entry.level ?? "")).padEnd(5);
  const name = typeof entry.name === "string" ? `${entry.name}: ` : "";
  const fields = Object.entries(entry)
    .filter(([key]) => !SHOWN_APART.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  const err = entry.err as { message?: unknown } | undefined;
  const error = err && typeof err.message === "string" ? `: ${err.message}` : "";
  const text = [level, `${name}${String(entry.msg ?? "")}${error}`, ...fields].join(" ");
  // Two spaces after the time, as in `serve`'s own lines, so both read as one column.
  return time ? `${time}  ${text}` : text;
}
