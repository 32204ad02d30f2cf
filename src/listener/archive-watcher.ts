import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";
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
    watcher.on("error", (error) => onError(error));
    const ready = new Promise<void>((resolve) => watcher.once("ready", resolve));
    await Promise.race([ready, this.closedSignal]);
  }
}

function entryKind(stats: Stats | undefined): EntryKind {
  if (stats?.isDirectory()) return "directory";
  if (stats?.isFile()) return "file";
  return "unknown";
}
