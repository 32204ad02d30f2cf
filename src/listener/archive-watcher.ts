import type { Stats } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { type FSWatcher, watch } from "chokidar";
import type { ArchiveLayout, EntryKind } from "./archive-layout.ts";

export interface ArchiveWatcherOptions {
  layout: ArchiveLayout;
  /** `archive.poll`: stat on a timer instead of file-system events (NFS and other network file systems). */
  poll: boolean;
  /** `archive.poll_interval_ms`. */
  pollIntervalMs: number;
  /** A file that may be an instrument file or a completion marker was added or changed. */
  onFile: (path: string) => void;
  onError: (error: unknown) => void;
}

/**
 * A watch over the archive roots with chokidar, one watcher per root. Only folders that can
 * lead to a configured instrument's files are entered (the layouts filter every path, and the
 * depth is limited to the deepest layout), so unrelated trees under a root cost no watches.
 * Files present when a root's watch starts are not reported (the reconcile walk finds those).
 */
export class ArchiveWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;
  private signalClosed = () => {};
  /** Resolves on close, so that waiting for a watch to be ready never outlives the watcher. */
  private readonly closedSignal = new Promise<void>((resolve) => {
    this.signalClosed = resolve;
  });

  constructor(private readonly options: ArchiveWatcherOptions) {}

  /** Roots that are not watched yet (they did not exist when last tried). */
  get unwatchedRoots(): string[] {
    return this.options.layout.roots.filter((root) => !this.watchers.has(root));
  }

  /**
   * Starts watching each root that is not watched yet and exists as a folder now; resolves once
   * their watches are in place, with the roots still missing. A missing root is not handed to
   * chokidar, which would watch its parent instead (for `/SNS`, the whole of `/`).
   */
  async watchRoots(): Promise<string[]> {
    const missing: string[] = [];
    for (const root of this.unwatchedRoots) {
      if (this.closed) break;
      const isFolder = await stat(root).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (isFolder) await this.watchRoot(root);
      else missing.push(root);
    }
    return missing;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.signalClosed();
    const watchers = [...this.watchers.values()];
    this.watchers.clear();
    await Promise.all(watchers.map((w) => w.close()));
  }

  private rescanSoon(dir: string): void {
    const timer = setTimeout(() => {
      if (!this.closed) this.listFiles(dir).catch(() => {}); // gone again: nothing to report
    }, RESCAN_DELAY_MS);
    timer.unref();
  }

  /** Reports every file under `dir` that the layouts may hold, entering only folders they allow. */
  private async listFiles(dir: string): Promise<void> {
    const { layout, onFile } = this.options;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (this.closed) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory() && layout.mayHold(path, "directory"))
        await this.listFiles(path).catch(() => {});
      else if (entry.isFile() && layout.mayHold(path, "file")) onFile(path);
    }
  }

  private async watchRoot(root: string): Promise<void> {
    const { layout, onFile, onError } = this.options;
    const watcher = watch(root, {
      ignoreInitial: true,
      usePolling: this.options.poll,
      interval: this.options.pollIntervalMs,
      binaryInterval: this.options.pollIntervalMs,
      depth: layout.maxDepth,
      ignored: (path: string, stats?: Stats) => !layout.mayHold(path, entryKind(stats)),
    });
    this.watchers.set(root, watcher);
    watcher.on("add", (path) => onFile(path));
    watcher.on("change", (path) => onFile(path));
    watcher.on("addDir", (dir) => this.rescanSoon(dir));
    watcher.on("error", (error) => onError(error));
    const ready = new Promise<void>((resolve) => watcher.once("ready", resolve));
    await Promise.race([ready, this.closedSignal]);
  }
}

/**
 * A new folder is listed again once its watch is surely in place: a file written between the
 * watcher's own listing of the folder and the start of its watch would otherwise be missed
 * until the next reconcile walk (seen with trees made level by level). Files reported twice are
 * harmless: the announcer skips versions it has recorded.
 */
const RESCAN_DELAY_MS = 300;

function entryKind(stats: Stats | undefined): EntryKind {
  if (stats?.isDirectory()) return "directory";
  if (stats?.isFile()) return "file";
  return "unknown";
}
