import type { Config } from "../config/load-config.ts";
import { type Backoff, backoffDelay } from "../failures/backoff.ts";
import type { Logger } from "../logging/logger.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import type { Transport } from "../transport/transport.ts";
import { ArchiveFileStore } from "./archive-file-store.ts";
import { type ArchiveFile, ArchiveLayout } from "./archive-layout.ts";
import { type ReconcileResult, reconcileArchive } from "./archive-reconcile.ts";
import type { FoundFile } from "./archive-walk.ts";
import { ArchiveWatcher } from "./archive-watcher.ts";
import { checkIntervalMs, completionRule, FileSettling } from "./file-settling.ts";
import { RunAnnouncer } from "./run-announcer.ts";

export type { ReconcileResult } from "./archive-reconcile.ts";

/**
 * The listener's lifecycle (transitions only go down this list):
 * - `starting`: the watch is being set up and the first reconcile walk runs;
 * - `running`: events and timers announce complete files;
 * - `stopping`: timers and the watch are closed, an announcement under way is finished;
 * - `stopped`: nothing runs any more.
 */
export type ListenerState = "starting" | "running" | "stopping" | "stopped";

export interface ArchiveListenerDeps {
  config: Config;
  database: SqlDatabase;
  transport: Transport;
  log: Logger;
  /** Wall clock in epoch ms, for the backfill window and `recorded_at`. Default `Date.now`. */
  now?: () => number;
}

/** What the listener is doing now (for status displays and tests). */
export interface ListenerStatus {
  state: ListenerState;
  /** Files seen but not complete yet (still being written, or waiting for their marker). */
  tracked: number;
  /** Complete files waiting to be announced. */
  queued: number;
}

/** After a failed reconcile walk, the next one comes this soon (or at `reconcile_seconds`, if sooner). */
const RECONCILE_RETRY_MS = 10_000;

const ANNOUNCE_RETRY: Backoff = { initialMs: 250, maxMs: 30_000 };

/** Delay before announcing a file again after a database or transport error: 250 ms doubling to 30 s. */
export function announceRetryDelayMs(attempt: number): number {
  return backoffDelay(ANNOUNCE_RETRY, attempt);
}

/**
 * Finds complete raw data files in the archive and announces each version of each file once
 * with a `POSTPROCESS.DATA_READY` (see `archive` and `instruments` in the config schema).
 * Files are noticed by watching `archive.roots` (events, or polling with `archive.poll`) and by a
 * reconcile walk at start and every `archive.reconcile_seconds`, which finds runs written while
 * the listener was down or missed by the watch. `archive_files` remembers what was done.
 */
export class ArchiveListener {
  private state: ListenerState = "starting";
  private readonly layout: ArchiveLayout;
  private readonly store: ArchiveFileStore;
  private readonly announcer: RunAnnouncer;
  private readonly settling: FileSettling<ArchiveFile>;
  private readonly queue = new Map<string, { file: ArchiveFile; version: FoundFile }>();
  private readonly failures = new Map<string, number>();
  private readonly log: Logger;
  private readonly now: () => number;
  /** When this listener was made: files written since are never backfill. */
  private readonly startedAt: number;
  private watcher: ArchiveWatcher | null = null;
  private checkTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private draining: Promise<void> | null = null;
  private reconciling: Promise<ReconcileResult> | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(private readonly deps: ArchiveListenerDeps) {
    this.log = deps.log.child({ component: "archive-listener" });
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.layout = ArchiveLayout.fromConfig(deps.config);
    this.store = new ArchiveFileStore(deps.database);
    this.announcer = new RunAnnouncer(
      deps.config,
      this.store,
      deps.transport,
      this.log,
      this.now,
      this.startedAt,
    );
    this.settling = new FileSettling<ArchiveFile>(
      completionRule(deps.config.archive),
      (version, file) => this.enqueue(file, version),
      (path, error) => this.log.warn({ path, err: error }, "cannot read an archive path"),
    );
  }

  /**
   * Starts watching and runs the first reconcile walk before resolving. Throws only if the
   * watch cannot be set up (or a layout is invalid); a failed walk is logged and retried.
   */
  static async start(deps: ArchiveListenerDeps): Promise<ArchiveListener> {
    const listener = new ArchiveListener(deps);
    try {
      await listener.begin();
    } catch (e) {
      await listener.stop();
      throw e;
    }
    return listener;
  }

  status(): ListenerStatus {
    return { state: this.state, tracked: this.settling.size, queued: this.queue.size };
  }

  /**
   * Walks the archive guided by the layouts and hands every matching file not yet recorded in
   * `archive_files` (or recorded with another size or mtime) on to be announced once complete.
   * Concurrent calls share one walk. Database errors reject.
   */
  reconcile(): Promise<ReconcileResult> {
    this.reconciling ??= this.walkAll().finally(() => {
      this.reconciling = null;
    });
    return this.reconciling;
  }

  /** Closes the watch and the timers and waits for an announcement under way. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private get active(): boolean {
    return this.state === "starting" || this.state === "running";
  }

  private async begin(): Promise<void> {
    const { archive } = this.deps.config;
    if (this.layout.instruments.length === 0) {
      this.log.warn("no instruments configured: nothing to listen for");
    }
    this.watcher = new ArchiveWatcher({
      layout: this.layout,
      poll: archive.poll,
      pollIntervalMs: archive.poll_interval_ms,
      onFile: (path) => this.onFileEvent(path),
      onError: (error) =>
        this.log.error({ err: error }, "archive watch error; the reconcile walk covers gaps"),
    });
    this.checkTimer = setInterval(() => this.checkTracked(), checkIntervalMs(completionRule(archive)));
    this.checkTimer.unref();
    const ok = await this.reconcileLogged();
    if (!this.active) return;
    this.state = "running";
    this.scheduleReconcile(ok);
    this.log.info(
      {
        roots: this.layout.roots,
        instruments: this.layout.instruments.map((i) => i.settings.name),
        mode: archive.poll ? `polling every ${archive.poll_interval_ms} ms` : "file-system events",
        completion: archive.completion_marker ?? `unchanged for ${archive.settle_seconds} s`,
      },
      "archive listener running",
    );
  }

  /** Watches roots that exist now but were not watched yet (all of them at start). */
  private async watchNewRoots(): Promise<void> {
    const watcher = this.watcher;
    if (!watcher || watcher.unwatchedRoots.length === 0) return;
    const before = watcher.unwatchedRoots;
    const missing = await watcher.watchRoots();
    const added = before.filter((root) => !missing.includes(root));
    if (added.length > 0 && this.state === "running") {
      this.log.info({ roots: added }, "archive roots appeared; watching them");
    }
    if (missing.length > 0 && this.state === "starting") {
      this.log.warn(
        { roots: missing },
        "archive roots do not exist (yet); they are watched once they appear",
      );
    }
  }

  private onFileEvent(path: string): void {
    if (!this.active) return;
    const file = this.layout.classify(path) ?? this.layout.markedFile(path);
    if (!file) return;
    this.settling
      .observe(file.path, file)
      .catch((e) => this.log.error({ err: e, path }, "checking a file failed"));
  }

  private checkTracked(): void {
    if (this.checking || !this.active) return;
    this.checking = true;
    this.settling
      .checkAll()
      .catch((e) => this.log.error({ err: e }, "checking tracked files failed"))
      .finally(() => {
        this.checking = false;
      });
  }

  private enqueue(file: ArchiveFile, version: FoundFile): void {
    if (!this.active) return;
    this.queue.set(file.path, { file, version });
    this.drain();
  }

  /** Announces queued files one at a time (NeXus reading is synchronous anyway). */
  private drain(): void {
    if (this.draining) return;
    this.draining = (async () => {
      for (const [path, item] of this.queue) {
        if (!this.active) return;
        this.queue.delete(path);
        await this.announceOne(item.file, item.version);
      }
    })().finally(() => {
      this.draining = null;
      if (this.queue.size > 0 && this.active) this.drain();
    });
  }

  private async announceOne(file: ArchiveFile, version: FoundFile): Promise<void> {
    try {
      await this.announcer.announce(file, version);
      this.failures.delete(file.path);
    } catch (e) {
      const attempt = (this.failures.get(file.path) ?? 0) + 1;
      this.failures.set(file.path, attempt);
      const retryInMs = announceRetryDelayMs(attempt);
      this.log.error({ err: e, path: file.path, attempt, retryInMs }, "announcing a run failed; will retry");
      if (this.active) this.settling.retryLater(version, file, retryInMs);
    }
  }

  private async walkAll(): Promise<ReconcileResult> {
    // Before walking: a file written between the walk and a new root's watch would be missed.
    await this.watchNewRoots();
    return reconcileArchive({
      layout: this.layout,
      store: this.store,
      backfillHours: this.deps.config.archive.backfill_hours,
      startedAt: this.startedAt,
      now: this.now,
      log: this.log,
      shouldStop: () => !this.active,
      track: (file) => this.settling.observe(file.path, file),
    });
  }

  private async reconcileLogged(): Promise<boolean> {
    try {
      await this.reconcile();
      return true;
    } catch (e) {
      this.log.error({ err: e }, "reconcile walk failed; will retry");
      return false;
    }
  }

  private scheduleReconcile(lastOk: boolean): void {
    if (!this.active) return;
    const periodMs = this.deps.config.archive.reconcile_seconds * 1000;
    const delayMs = lastOk ? periodMs : Math.min(periodMs, RECONCILE_RETRY_MS);
    this.reconcileTimer = setTimeout(async () => {
      const ok = await this.reconcileLogged();
      this.scheduleReconcile(ok);
    }, delayMs);
    this.reconcileTimer.unref();
  }

  private async shutdown(): Promise<void> {
    this.state = "stopping";
    clearInterval(this.checkTimer);
    clearTimeout(this.reconcileTimer);
    await this.watcher?.close();
    this.settling.clear();
    this.queue.clear();
    await this.draining;
    await this.reconciling?.catch(() => {});
    this.state = "stopped";
    this.log.info("archive listener stopped");
  }
}
