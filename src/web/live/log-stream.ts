import { open, stat } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "../../logging/logger.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import { jobProgress, UNFINISHED } from "../pages/run-data.ts";
import { startEventStream } from "./event-stream.ts";

/** At most this much of a log is shown at once (the page's tail, and any jump of the live stream). */
export const LOG_TAIL_BYTES = 256 * 1024;

/** The end of a log file as the page shows it. */
export interface LogTail {
  text: string;
  /** The file's size when read: where a live stream continues from. */
  size: number;
  /** Only the last LOG_TAIL_BYTES were read (the first, cut line is left out). */
  truncated: boolean;
}

/** The last `maxBytes` of a file, from the first whole line; null when it cannot be read. */
export async function readLogTail(path: string, maxBytes = LOG_TAIL_BYTES): Promise<LogTail | null> {
  let handle: import("node:fs/promises").FileHandle | undefined;
  try {
    handle = await open(path, "r");
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    let text = buffer.toString("utf8");
    const truncated = length < size;
    if (truncated) text = text.slice(text.indexOf("\n") + 1);
    return { text, size, truncated };
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}

/** Which log of a job a stream follows, from which byte, and how its path is judged safe to read. */
export interface LogStreamRequest {
  jobId: string;
  stream: "out" | "err";
  /** Byte offset to continue from (the size the page showed, or the last event id on a reconnect). */
  from: number;
  /** The real path of a recorded log file when it may be read (inside the output area), else null. */
  allowed: (path: string) => Promise<string | null>;
}

interface Follower {
  reply: FastifyReply;
  timer: NodeJS.Timeout;
}

/**
 * Live tails of running jobs' logs as server-sent events. Each stream polls its file's size
 * (every `pollMs`) and sends what was appended (`append`, the text as a JSON string, the event id
 * the byte offset reached, so a reconnecting browser continues where it was), and re-reads the
 * job (every `statusMs`) for its log path and status; when the job is no longer queued or
 * running, the rest of the file is sent, then `end` (with the status), and the stream closes.
 * A file that shrank was replaced (a new attempt): `reset`, then it is read from its start.
 */
export class LogStreams {
  private readonly followers = new Set<Follower>();

  constructor(
    private readonly deps: { database: SqlDatabase; log: Logger },
    private readonly pollMs = 500,
    private readonly statusMs = 1000,
  ) {}

  open(request: FastifyRequest, reply: FastifyReply, follow: LogStreamRequest): void {
    startEventStream(reply);
    let offset = follow.from;
    let path: string | null = null;
    let checkedAt = 0;
    let busy = false;
    let decoder = new StringDecoder("utf8");
    const send = (event: string, data: string, id?: number) =>
      reply.raw.write(`${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`);

    const readMore = async (file: string): Promise<void> => {
      const { size } = await stat(file);
      if (size < offset) {
        offset = 0;
        decoder = new StringDecoder("utf8");
        send("reset", "{}", 0);
      }
      if (size - offset > LOG_TAIL_BYTES) {
        send("skipped", JSON.stringify({ bytes: size - LOG_TAIL_BYTES - offset }));
        offset = size - LOG_TAIL_BYTES;
      }
      if (size === offset) return;
      const handle = await open(file, "r");
      try {
        const buffer = Buffer.alloc(size - offset);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        offset += bytesRead;
        const text = decoder.write(buffer.subarray(0, bytesRead));
        if (text) send("append", JSON.stringify(text), offset);
      } finally {
        await handle.close();
      }
    };

    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        let finished: string | null = null;
        if (Date.now() - checkedAt >= this.statusMs) {
          checkedAt = Date.now();
          const job = await jobProgress(this.deps.database, follow.jobId);
          if (!job || !UNFINISHED.includes(job.status)) finished = job?.status ?? "gone";
          const recorded = follow.stream === "out" ? job?.log_file : job?.err_file;
          path = recorded ? await follow.allowed(recorded) : null;
        }
        if (path) await readMore(path).catch(() => {});
        if (finished !== null) {
          send("end", JSON.stringify({ status: finished }));
          stop();
        }
      } catch (e) {
        this.deps.log.warn({ err: e, job_id: follow.jobId }, "web: a live log stream failed");
        stop();
      } finally {
        busy = false;
      }
    };

    const follower: Follower = { reply, timer: setInterval(() => void tick(), this.pollMs) };
    const stop = () => {
      clearInterval(follower.timer);
      if (this.followers.delete(follower)) reply.raw.end();
    };
    this.followers.add(follower);
    request.raw.on("close", stop);
    void tick();
  }

  /** Ends every stream (the web server is stopping). */
  closeAll(): void {
    for (const f of this.followers) {
      clearInterval(f.timer);
      f.reply.raw.end();
    }
    this.followers.clear();
  }
}
