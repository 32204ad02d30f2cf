import type { RunEventView } from "../../store/run-views.ts";
import { formatDuration } from "../views/format.ts";
import { UNFINISHED, type VersionRow } from "./run-data.ts";

/** One line of a run's merged timeline. */
export interface TimelineItem {
  /** Epoch ms. */
  at: number;
  version: number | null;
  /** What happened, in words ("Started", "Version 1 created"). */
  label: string;
  /** Details: status, information or error, who. */
  detail: string;
  /** The machine it happened on, when known (node attribution). */
  host: string | null;
  /** Where the message went (`/queue/REDUCTION.STARTED`); null for a version's own times. */
  destination: string | null;
}

/** Plain words for the messages of a run, by destination name (the defaults; others are shown as they are). */
const LABELS: Record<string, string> = {
  "POSTPROCESS.DATA_READY": "Run ready for reduction",
  "REDUCTION.DATA_READY": "Job sent to the workers",
  "REDUCTION.STARTED": "Worker started the script",
  "REDUCTION.COMPLETE": "Worker reports success",
  "REDUCTION.ERROR": "Worker reports failure",
  "REDUCTION.DISABLED": "Worker reports reduction disabled",
  "REDUCTION.RETRYING": "Worker will try again",
  "REDUCTION.REQUEST": "Re-run requested",
  "POSTPROCESS.ERROR": "Message refused",
  cancel: "Cancel requested",
};

const MAX_DETAIL = 400;

/**
 * Every message about the run and every version's creation, start and end, oldest first (at the
 * same time, messages keep their recorded order and a version's own times come after them).
 */
export function runTimeline(
  versions: readonly VersionRow[],
  events: readonly RunEventView[],
): TimelineItem[] {
  const items: TimelineItem[] = events.map((e) => {
    const name = e.destination.replace(/^\/(queue|topic)\//, "");
    return {
      at: Date.parse(e.at),
      version: e.version,
      label: LABELS[name] ?? name,
      detail: summarize(e.body),
      host: hostOf(e.body),
      destination: e.destination,
    };
  });
  for (const v of versions) {
    const who = v.started_by ? ` by ${v.started_by}` : "";
    items.push({
      at: v.created_at,
      version: v.version,
      label: `Version ${v.version} created`,
      detail: `${v.reason}${who}${v.description ? `: ${v.description}` : ""}`,
      host: null,
      destination: null,
    });
    if (v.started_at !== null)
      items.push({
        at: v.started_at,
        version: v.version,
        label: `Version ${v.version} started`,
        detail: [v.executor && `executor ${v.executor}`, v.queue && `queue ${v.queue}`]
          .filter(Boolean)
          .join(", "),
        host: v.host,
        destination: null,
      });
    if (v.finished_at !== null && !UNFINISHED.includes(v.status))
      items.push({
        at: v.finished_at,
        version: v.version,
        label: `Version ${v.version} ended: ${v.status}`,
        detail: [
          v.duration_seconds !== null ? `ran ${formatDuration(v.duration_seconds)}` : null,
          v.exit_code !== null ? `exit code ${v.exit_code}` : null,
        ]
          .filter(Boolean)
          .join(", "),
        host: v.host,
        destination: null,
      });
  }
  return items
    .map((item, order) => ({ item, order }))
    .sort((x, y) => (x.item.at || 0) - (y.item.at || 0) || x.order - y.order)
    .map((x) => x.item);
}

/** A short account of a message body: its status, information or error, who and why. */
export function summarize(body: unknown): string {
  if (typeof body === "string") return clip(body);
  if (typeof body !== "object" || body === null) return "";
  const b = body as Record<string, unknown>;
  const text = (key: string) => (typeof b[key] === "string" && b[key] !== "" ? (b[key] as string) : null);
  const parts = [
    text("status") && `status ${text("status")}`,
    text("error"),
    text("information") && text("information") !== text("host") ? text("information") : null,
    text("reason"),
    text("cancelled_by") && `by ${text("cancelled_by")}`,
    text("started_by") && `by ${text("started_by")}`,
    text("description"),
    typeof b.attempt === "number" && b.attempt > 1 ? `attempt ${b.attempt}` : null,
    text("retry_at") && `next try ${text("retry_at")}`,
  ].filter((p): p is string => Boolean(p));
  return clip(parts.join("; "));
}

function hostOf(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return null;
  const host = (body as Record<string, unknown>).host;
  return typeof host === "string" && host !== "" ? host : null;
}

function clip(text: string): string {
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text;
}
