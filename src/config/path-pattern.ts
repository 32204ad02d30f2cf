import { isAbsolute, relative, sep } from "node:path";

/**
 * A compiled archive layout for one instrument, e.g. the SNS
 * `{instrument}/{experiment}/nexus/{instrument}_{run}.nxs.h5` or the ISIS
 * `NDX{instrument}/Instrument/data/{cycle}/{prefix}{run}.nxs`.
 *
 * Placeholders: `{instrument}` and `{prefix}` are literal (the instrument's name and file prefix),
 * `{run}` is all the digits at its place (never a part of a longer number), `{*}` is anything within one path segment, and any other `{name}` is a
 * captured path segment part (`{experiment}` becomes the run's experiment).
 */
export interface PathPattern {
  readonly source: string;
  /**
   * One matcher per path segment, for walking the archive without listing unrelated folders.
   * `literal` is the segment's exact name when it has no placeholder other than `{instrument}`
   * and `{prefix}` (e.g. `NDXMARI`), so a walk can descend into it without listing its parent.
   */
  readonly segments: ReadonlyArray<{ literal: string | null; regex: RegExp }>;
  /** Matches a path relative to an archive root (with `/` separators). */
  match(relativePath: string): PathMatch | null;
}

export interface PathMatch {
  runNumber: number;
  experiment: string | null;
  captures: Record<string, string>;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The segment's exact text when its only placeholders are `{instrument}` and `{prefix}`, else null. */
function literalSegment(segment: string, instrument: string, prefix: string): string | null {
  const text = segment.replaceAll("{instrument}", instrument).replaceAll("{prefix}", prefix);
  return /[{}]/.test(text) ? null : text;
}

function segmentRegex(segment: string, instrument: string, prefix: string, named: boolean): string {
  const seen = new Set<string>();
  return segment
    .split(/(\{[^}]*\})/)
    .map((part) => {
      const m = /^\{([^}]*)\}$/.exec(part);
      if (!m) return escapeRegExp(part);
      const name = m[1] ?? "";
      if (name === "instrument") return escapeRegExp(instrument);
      if (name === "prefix") return escapeRegExp(prefix);
      if (name === "*") return "[^/]*";
      if (!/^[a-z_]+$/.test(name)) throw new Error(`unknown placeholder {${name}} in pattern`);
      // The run takes every digit in its place: `{*}{run}` on OSIRIS00108538 is 108538, never 8.
      const body = name === "run" ? "(?<!\\d)\\d+(?!\\d)" : "[^/]+?";
      if (!named || seen.has(name)) return `(?:${body})`;
      seen.add(name);
      return `(?<${name}>${body})`;
    })
    .join("");
}

/** Compiles a layout for one instrument. Throws on an unknown placeholder or a pattern without `{run}`. */
export function compilePathPattern(pattern: string, instrument: string, prefix: string): PathPattern {
  if (!pattern.includes("{run}")) throw new Error(`pattern ${pattern} has no {run} placeholder`);
  const parts = pattern.split("/").filter((p) => p.length > 0);
  const segments = parts.map((part) => ({
    literal: literalSegment(part, instrument, prefix),
    regex: new RegExp(`^${segmentRegex(part, instrument, prefix, false)}$`),
  }));
  // Named groups must be unique across the whole expression, so build the full one separately.
  const used = new Set<string>();
  const full = parts
    .map((part) =>
      segmentRegex(part, instrument, prefix, true).replace(/\(\?<([a-z_]+)>/g, (whole, name: string) => {
        if (used.has(name)) return "(?:";
        used.add(name);
        return whole;
      }),
    )
    .join("/");
  const regex = new RegExp(`^${full}$`);
  return {
    source: pattern,
    segments,
    match(relativePath) {
      const m = regex.exec(relativePath);
      if (!m?.groups?.run) return null;
      const captures = { ...m.groups } as Record<string, string>;
      return { runNumber: Number(m.groups.run), experiment: m.groups.experiment ?? null, captures };
    },
  };
}

/** The path of `file` relative to `root` with `/` separators, or null if it is not inside root. */
export function insideRoot(root: string, file: string): string | null {
  const rel = relative(root, file);
  // `..` only as a whole segment: `..notes/x` is a (strangely named) folder inside the root.
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel) || /^[a-zA-Z]:/.test(rel)) {
    return null;
  }
  return rel.split(sep).join("/");
}
