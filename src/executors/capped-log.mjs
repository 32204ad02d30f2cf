// A log file that never grows much past its limit: it keeps the first half of the limit (the
// head) and the last half (the tail), and when it is closed puts a line between them that says
// how many bytes were cut there. Plain JavaScript because the launcher (plain Node, no loaders)
// uses it; `capped-log.d.mts` gives its types.
//
// While the job runs the tail lives in the file itself, as a ring right after the head, so memory
// stays small whatever the script prints; `close` puts the ring in order. A write that fails
// (ENOSPC, EDQUOT, EIO) stops the writing and is kept as `problem`; the data that follows is
// dropped, so a script is never blocked by a full disk.
import { closeSync, constants, ftruncateSync, openSync, readSync, writeSync } from "node:fs";

const FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;

export class CappedLog {
  /**
   * @param {string} path file to write (truncated now)
   * @param {number} limitBytes bytes of the script's output kept at most (head + tail)
   */
  constructor(path, limitBytes) {
    this.path = path;
    this.limitBytes = Math.max(2, Math.floor(limitBytes));
    this.headBytes = Math.floor(this.limitBytes / 2);
    this.tailBytes = this.limitBytes - this.headBytes;
    /** Bytes the script wrote in all. */
    this.total = 0;
    /** Bytes of the head written so far. */
    this.head = 0;
    /** Next write offset within the ring, and how much of the ring holds data. */
    this.ringAt = 0;
    this.ringFill = 0;
    /** Bytes cut, as written in the cut line; set by `close`. */
    this.cut = null;
    /** Why writing stopped (`ENOSPC: no space left on device, write`), or null. */
    this.problem = null;
    /** Error code of `problem` (`ENOSPC`), or null. */
    this.problemCode = null;
    this.fd = openSync(path, FLAGS, 0o644);
  }

  /** Bytes cut from the middle: so far, or (once closed) as the cut line says. */
  get cutBytes() {
    return this.cut ?? Math.max(0, this.total - this.limitBytes);
  }

  /** @param {Buffer} chunk */
  write(chunk) {
    this.total += chunk.length;
    if (this.fd === null || this.problem !== null) return;
    try {
      let rest = chunk;
      if (this.head < this.headBytes) {
        const n = Math.min(rest.length, this.headBytes - this.head);
        this.writeAt(rest.subarray(0, n), this.head);
        this.head += n;
        rest = rest.subarray(n);
      }
      if (rest.length > this.tailBytes) rest = rest.subarray(rest.length - this.tailBytes);
      while (rest.length > 0) {
        const n = Math.min(rest.length, this.tailBytes - this.ringAt);
        this.writeAt(rest.subarray(0, n), this.headBytes + this.ringAt);
        this.ringAt = (this.ringAt + n) % this.tailBytes;
        this.ringFill = Math.min(this.tailBytes, this.ringFill + n);
        rest = rest.subarray(n);
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** Puts the tail in order after a line that says what was cut, and closes the file. */
  close() {
    if (this.fd === null) return;
    try {
      if (this.problem === null && this.cutBytes > 0) this.reorder();
    } catch (e) {
      this.fail(e);
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  reorder() {
    const ring = Buffer.alloc(this.tailBytes);
    this.readAt(ring, this.headBytes);
    // The oldest byte of the ring is at `ringAt`; skip to the next line start so that the tail
    // begins with a whole line (unless the ring holds no line break at all).
    const ordered = Buffer.concat([ring.subarray(this.ringAt), ring.subarray(0, this.ringAt)]);
    const newline = ordered.indexOf(10);
    const tail = newline >= 0 && newline < ordered.length - 1 ? ordered.subarray(newline + 1) : ordered;
    const cut = this.total - this.head - tail.length;
    this.cut = cut;
    const endsLine = this.head === 0 || this.headByte(this.head - 1) === 10;
    const marker = Buffer.from(
      `${endsLine ? "" : "\n"}[autoreduce: ${cut} bytes cut here: the log is limited to ${this.limitBytes} bytes, head and tail kept]\n`,
    );
    this.writeAt(marker, this.head);
    this.writeAt(tail, this.head + marker.length);
    ftruncateSync(this.fd, this.head + marker.length + tail.length);
  }

  headByte(offset) {
    const one = Buffer.alloc(1);
    this.readAt(one, offset);
    return one[0];
  }

  fail(e) {
    this.problem = e instanceof Error ? e.message : String(e);
    this.problemCode = e?.code ?? null;
  }

  writeAt(buffer, position) {
    let done = 0;
    while (done < buffer.length)
      done += writeSync(this.fd, buffer, done, buffer.length - done, position + done);
  }

  readAt(buffer, position) {
    const reader = openSync(this.path, "r");
    try {
      let done = 0;
      while (done < buffer.length) {
        const n = readSync(reader, buffer, done, buffer.length - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } finally {
      closeSync(reader);
    }
  }
}
