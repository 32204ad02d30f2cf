import { join, relative, sep } from "node:path";
import { type InstrumentSettings, instrumentSettings } from "../config/instrument-settings.ts";
import type { Config } from "../config/load-config.ts";
import { compilePathPattern, insideRoot, type PathMatch, type PathPattern } from "../config/path-pattern.ts";

/** One configured instrument with one of its compiled archive layouts (an instrument may have several). */
export interface InstrumentLayout {
  readonly settings: InstrumentSettings;
  readonly pattern: PathPattern;
}

/** A file that belongs to a configured instrument's layout. */
export interface ArchiveFile {
  /** Absolute path (the archive root joined with the relative path). */
  readonly path: string;
  /** The archive root it lies in, as configured. */
  readonly root: string;
  /** Path relative to the root, with `/` separators. */
  readonly relativePath: string;
  readonly layout: InstrumentLayout;
  readonly match: PathMatch;
}

/** What the watcher knows about a path when it asks whether to look inside it. */
export type EntryKind = "directory" | "file" | "unknown";

/**
 * The archive layouts of every configured instrument (`instruments.<NAME>.pattern`, `prefix`),
 * and the archive roots (`archive.roots`) they apply to. Pure: no file-system access.
 */
export class ArchiveLayout {
  private constructor(
    readonly roots: readonly string[],
    readonly instruments: readonly InstrumentLayout[],
    /** `archive.completion_marker`, whose files must get through the watcher's filter. */
    private readonly marker: string | null,
  ) {}

  /** Compiles the layouts of the configured instruments. Throws on an invalid `pattern`. */
  static fromConfig(config: Config): ArchiveLayout {
    const instruments: InstrumentLayout[] = [];
    for (const name of Object.keys(config.instruments)) {
      const settings = instrumentSettings(config, name);
      if (!settings) continue;
      for (const pattern of settings.patterns)
        instruments.push({ settings, pattern: compilePathPattern(pattern, name, settings.prefix) });
    }
    return new ArchiveLayout(config.archive.roots, instruments, config.archive.completion_marker);
  }

  /** The deepest folder level (0: a root's own entries) that can hold an instrument's file. */
  get maxDepth(): number {
    return Math.max(0, ...this.instruments.map((i) => i.pattern.segments.length - 1));
  }

  /** The instrument file at `path` under `root`, or null when no configured layout matches it. */
  classifyIn(root: string, path: string): ArchiveFile | null {
    const relativePath = insideRoot(root, path);
    if (relativePath === null) return null;
    for (const layout of this.instruments) {
      const match = layout.pattern.match(relativePath);
      if (match) return { path: join(root, ...relativePath.split("/")), root, relativePath, layout, match };
    }
    return null;
  }

  /** Like {@link classifyIn}, trying every root. */
  classify(path: string): ArchiveFile | null {
    for (const root of this.roots) {
      const file = this.classifyIn(root, path);
      if (file) return file;
    }
    return null;
  }

  /** The data file a completion marker belongs to, or null when `path` is not a marker of one. */
  markedFile(path: string): ArchiveFile | null {
    if (this.marker === null || !path.endsWith(this.marker)) return null;
    return this.classify(path.slice(0, -this.marker.length));
  }

  /**
   * Whether the watcher should look at `path`: a root itself, a folder on the way to some
   * instrument's files, one of those files, or (with `completion_marker`) a marker of one.
   * Paths outside every root are left to the watcher.
   */
  mayHold(path: string, kind: EntryKind): boolean {
    const root = this.roots.find((r) => r === path || insideRoot(r, path) !== null);
    if (root === undefined) return true;
    const rel = relative(root, path);
    if (rel === "") return true;
    const parts = rel.split(sep);
    if (kind !== "file" && this.instruments.some((i) => leadsTo(i.pattern, parts))) return true;
    if (kind === "directory") return false;
    return this.classifyIn(root, path) !== null || this.markedFile(path) !== null;
  }
}

/** True if a folder with these path segments (below a root) can contain a file of the pattern. */
function leadsTo(pattern: PathPattern, parts: readonly string[]): boolean {
  if (parts.length >= pattern.segments.length) return false;
  return parts.every((part, i) => pattern.segments[i]?.regex.test(part) === true);
}
