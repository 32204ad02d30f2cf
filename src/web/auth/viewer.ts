/**
 * Who is asking, and what they may see and do: the one permission model of every page, API
 * route, download and live stream. A Viewer is built per request on the server from the session
 * cookie or the bearer token (never from anything the request body claims) and these pure
 * functions answer each question, so the route × role matrix test can check them all.
 *
 * Roles:
 * - admin: everything;
 * - instrument scientist (per instrument): reads and changes everything of the instrument
 *   (variables, pause, batch re-runs), reads all its runs;
 * - experimenter (member of an experiment, from the catalog): reads that experiment's runs and
 *   re-runs them (with the smallest re-run cap);
 * - anonymous read (per instrument, `web.anonymous_read`): anyone, signed in or not, reads it;
 * - tokens: `admin`, `scientist` (its instruments), `read` (reads everything, changes nothing),
 *   `user` (a personal token: exactly its owner's permissions).
 */
export interface Viewer {
  kind: "anonymous" | "user" | "token";
  /** The user name or token name: recorded as who did what. Null when anonymous. */
  name: string | null;
  /** The signed-in user, or the owner of a personal token. */
  userId: number | null;
  admin: boolean;
  /** Reads every instrument (admins and `read` tokens). */
  readAll: boolean;
  /** Instruments (upper case) this viewer is a scientist of. */
  scientistOf: ReadonlySet<string>;
  /** Experiments this viewer is a member of. */
  memberOf: ReadonlySet<string>;
  /** Instruments (upper case) anyone may read (configuration). */
  anonymousRead: ReadonlySet<string>;
  /** The session's CSRF token (signed-in browsers only). */
  csrfToken: string | null;
}

/** The answer to "may this viewer do this": allowed, or why not (401 or 403). */
export type Verdict = "allow" | "unauthenticated" | "forbidden";

export function anonymousViewer(anonymousRead: Iterable<string> = []): Viewer {
  return {
    kind: "anonymous",
    name: null,
    userId: null,
    admin: false,
    readAll: false,
    scientistOf: new Set(),
    memberOf: new Set(),
    anonymousRead: new Set([...anonymousRead].map((i) => i.toUpperCase())),
    csrfToken: null,
  };
}

const upper = (instrument: string) => instrument.toUpperCase();

export function canReadInstrument(v: Viewer, instrument: string): boolean {
  const i = upper(instrument);
  return v.admin || v.readAll || v.scientistOf.has(i) || v.anonymousRead.has(i);
}

export function canReadRun(v: Viewer, run: { instrument: string; experiment: string }): boolean {
  return canReadInstrument(v, run.instrument) || v.memberOf.has(run.experiment);
}

/** An experiment page: members, and whoever reads one of the experiment's instruments. */
export function canReadExperiment(v: Viewer, experiment: string, instruments: readonly string[]): boolean {
  return (
    v.admin || v.readAll || v.memberOf.has(experiment) || instruments.some((i) => canReadInstrument(v, i))
  );
}

/** Change an instrument: variables, pause and resume, batch re-runs, any of its runs. */
export function canManageInstrument(v: Viewer, instrument: string): boolean {
  return v.admin || v.scientistOf.has(upper(instrument));
}

/** Re-run or cancel one run: its instrument's scientists, and the members of its experiment. */
export function canChangeRun(v: Viewer, run: { instrument: string; experiment: string }): boolean {
  return canManageInstrument(v, run.instrument) || (v.kind !== "anonymous" && v.memberOf.has(run.experiment));
}

export function canAdminister(v: Viewer): boolean {
  return v.admin;
}

/** Turns a yes/no into the HTTP answer: 401 for nobody, 403 for someone without the right. */
export function verdict(v: Viewer, allowed: boolean): Verdict {
  if (allowed) return "allow";
  return v.kind === "anonymous" ? "unauthenticated" : "forbidden";
}

/** The re-run size cap (`rerun_caps`) for this viewer on this instrument. */
export function rerunCapRole(v: Viewer, instrument: string): "admin" | "staff" | "user" {
  if (v.admin) return "admin";
  return v.scientistOf.has(upper(instrument)) ? "staff" : "user";
}

/**
 * Which runs a viewer may list, for the database query: every run, or those of some instruments
 * plus those of some experiments.
 */
export type RunScope = { all: true } | { all: false; instruments: string[]; experiments: string[] };

export function runScope(v: Viewer): RunScope {
  if (v.admin || v.readAll) return { all: true };
  return {
    all: false,
    instruments: [...new Set([...v.scientistOf, ...v.anonymousRead])].sort(),
    experiments: [...v.memberOf].sort(),
  };
}
