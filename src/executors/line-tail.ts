/** Keeps the last N lines of a byte stream (for error reasons and status messages). */
export class LineTail {
  private lines: string[] = [];
  private partial = "";

  constructor(private readonly max: number) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? "";
    if (this.partial.length > 4096) this.partial = this.partial.slice(-4096);
    for (const line of parts) this.lines.push(line.length > 1000 ? `${line.slice(0, 1000)}…` : line);
    if (this.lines.length > this.max) this.lines = this.lines.slice(-this.max);
  }

  /** The kept lines, including an unterminated last line. */
  get(): string[] {
    const all = this.partial ? [...this.lines, this.partial] : [...this.lines];
    return all.slice(-this.max);
  }
}
