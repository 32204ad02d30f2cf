import { Writable } from "node:stream";
import { pino } from "pino";
import { formatLogLine } from "./log-line-format.ts";

/**
 * Structured logs, one JSON line per event. By default they go to stderr (journald keeps them) —
 * as short human lines instead when stderr is a terminal. With a log file (`log_file`, which the
 * demo sets) every line goes to that file as JSON and only errors reach the terminal, as short
 * lines. `serve`'s terminal view (what started, each run's status) goes to stdout.
 */
export type Logger = pino.Logger;

export interface LogOutput {
  /** Append JSON lines here instead of stderr. Default: none (stderr). */
  file?: string | null;
}

export function createLogger(level: string, name: string, output: LogOutput = {}): Logger {
  const options = { name, level, base: { pid: process.pid } };
  if (output.file) {
    const file = pino.destination({ dest: output.file, append: true, mkdir: true, sync: false });
    return pino(
      options,
      pino.multistream([
        { level: level as pino.Level, stream: file },
        { level: "error", stream: humanLines(process.stderr) },
      ]),
    );
  }
  if (process.stderr.isTTY) return pino(options, humanLines(process.stderr));
  return pino(options, pino.destination({ fd: 2, sync: false }));
}

/** A stream that writes each JSON log line to `out` as a short human line. */
function humanLines(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = chunk.toString("utf8").split("\n").filter(Boolean);
      out.write(`${lines.map(formatLogLine).join("\n")}\n`);
      done();
    },
  });
}

/** A logger that drops everything (tests and quiet commands). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
