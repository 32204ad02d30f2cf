/** Types of `capped-log.mjs`: a log file kept to its limit (head and tail, a line where bytes were cut). */
export declare class CappedLog {
  constructor(path: string, limitBytes: number);
  readonly path: string;
  readonly limitBytes: number;
  /** Bytes the script wrote in all. */
  readonly total: number;
  /** Bytes cut from the middle (0 while the output fits the limit). */
  readonly cutBytes: number;
  /** Why writing stopped (a failed write: disk full, quota), or null. */
  readonly problem: string | null;
  /** Error code of `problem` (`ENOSPC`, `EDQUOT`), or null. */
  readonly problemCode: string | null;
  write(chunk: Buffer): void;
  /** Puts the tail in order after the line that says what was cut, and closes the file. */
  close(): void;
}
