import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/** The last `lines` lines of a text file, reading at most its last `maxBytes` bytes. */
export function fileTail(path: string, lines: number, maxBytes = 64 * 1024): string[] {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const all = buffer.toString("utf8").split(/\r?\n/);
    if (all.at(-1) === "") all.pop();
    // The first line may be cut by the byte limit: drop it unless the whole file was read.
    if (length < size) all.shift();
    return all.slice(-lines).map((line) => (line.length > 1000 ? `${line.slice(0, 1000)}…` : line));
  } finally {
    closeSync(fd);
  }
}

/** The last `maxBytes` bytes of a file as text ("" if it cannot be read). */
export function fileEnd(path: string, maxBytes: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
