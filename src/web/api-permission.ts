import type { TokenHolder } from "../store/token-store.ts";

/** What a request that changes things does, as far as permission goes. */
export interface ApiAction {
  /** The instrument it changes (re-run, variables, cancel, pause/resume are all per instrument). */
  instrument: string;
}

/**
 * The answer to "may this caller do this": `allow`, `unauthenticated` (no valid token: 401) or
 * `forbidden` (a valid token whose role does not cover it: 403).
 */
export type Permission = "allow" | "unauthenticated" | "forbidden";

/**
 * Pure: `admin` may change every instrument, `scientist` only those of its token, `read`
 * nothing. The caller is who the token says, never what the request body says.
 */
export function permission(holder: TokenHolder | null, action: ApiAction): Permission {
  if (!holder) return "unauthenticated";
  if (holder.role === "admin") return "allow";
  if (holder.role === "scientist" && holder.instruments.includes(action.instrument.toUpperCase()))
    return "allow";
  return "forbidden";
}

/** The re-run size cap (`rerun_caps`) that applies to a token holder. */
export function rerunCapRole(holder: TokenHolder): "admin" | "staff" | "user" {
  if (holder.role === "admin") return "admin";
  return holder.role === "scientist" ? "staff" : "user";
}
