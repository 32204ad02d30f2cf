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

  /**
   * Lists `dir` again once its watch is surely in place (see {@link RESCAN_DELAY_MS}), mending
   * the watch of folders below it that chokidar lost; `mends` counts how often this folder was
   * mended already, so that a folder chokidar never takes is not retried forever.
   */
  private rescanSoon(watcher: FSWatcher, dir: string, mends = 0): void {
    const timer = setTimeout(() => {
      if (this.closed) return;
      this.cover(watcher, dir, watchedFolders(watcher), true, mends).catch(() => {}); // gone again
    }, RESCAN_DELAY_MS);
    timer.unref();
  }

  /**
   * Makes sure that every folder under `dir` that the layouts may hold is watched and (with
   * `report`) reports every file the layouts may hold. chokidar 5 can lose a folder made while
   * it scans the parent: no event ever comes from it, not even for files written into it later
   * (about one start in ten, when a run was being written as the listener started). So the
   * watch is checked rather than trusted: a lost folder is added again and, once that watch is
   * in place, listed, since files written before then were not reported either.
   */
  private async cover(
    watcher: FSWatcher,
    dir: string,
    watched: ReadonlySet<string>,
    report: boolean,
    mends = 0,
  ): Promise<void> {
    const { layout, onFile } = this.options;
    if (!watched.has(dir)) {
      if (mends < MAX_MENDS) {
        watcher.add(dir);
        this.rescanSoon(watcher, dir, mends + 1);
      }
      return; // the rescan lists it, with everything below
    }
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (this.closed) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory() && layout.mayHold(path, "directory"))
        await this.cover(watcher, path, watched, report, mends).catch(() => {});
      else if (report && entry.isFile() && layout.mayHold(path, "file")) onFile(path);
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
    watcher.on("addDir", (dir) => this.rescanSoon(watcher, dir));
    watcher.on("error", (error) => onError(error));
    const ready = new Promise<void>((resolve) => watcher.once("ready", resolve));
    await Promise.race([ready, this.closedSignal]);
    // Folders made during the first scan may have been lost (see `cover`); files already present
    // are left to the reconcile walk, as those of a root's first scan are.
    if (!this.closed) await this.cover(watcher, root, watchedFolders(watcher), false).catch(() => {});
  }
}

/**
 * A new folder is listed again once its watch is surely in place: a file written between the
 * watcher's own listing of the folder and the start of its watch would otherwise be missed
 * until the next reconcile walk (seen with trees made level by level). Files reported twice are
 * harmless: the announcer skips versions it has recorded.
 */
const RESCAN_DELAY_MS = 300;

/** How many times a folder chokidar lost is added again before it is left to the reconcile walk. */
const MAX_MENDS = 3;

/** The folders chokidar watches now (the keys of its `getWatched()`). */
function watchedFolders(watcher: FSWatcher): Set<string> {
  return new Set(Object.keys(watcher.getWatched()));
}

function entryKind(stats: Stats | undefined): EntryKind {
  if (stats?.isDirectory()) return "directory";
  if (stats?.isFile()) return "file";
  return "unknown";
}
