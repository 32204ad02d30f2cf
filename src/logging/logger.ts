import { pino } from "pino";

/** Structured JSON logs (one line per event) to stderr; the terminal view of `serve` goes to stdout. */
export type Logger = pino.Logger;

export function createLogger(level: string, name: string): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything (tests and quiet commands). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
