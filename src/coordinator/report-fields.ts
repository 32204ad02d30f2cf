import type { Updateable } from "kysely";
import type { StatusReport } from "../messages/status-report.ts";
import type { JobRow } from "../store/job-store.ts";
import type { JobsTable } from "../store/schema.ts";
import type { Report } from "./reduction-lifecycle.ts";

const ms = (iso: string | undefined, fallback: number) => {
  const t = iso ? Date.parse(iso) : Number.NaN;
  return Number.isFinite(t) ? t : fallback;
};

/**
 * Which delivery of its job a report is about. Our worker says so (`attempt`); an SNS agent
 * does not, but echoes the job as it got it, with the `retry` state of a job the coordinator
 * sent again (`deliveries` before it), so its report is about delivery `deliveries + 1`.
 */
export function reportedAttempt(report: StatusReport): number {
  if (report.attempt !== undefined) return report.attempt;
  const retry = report.retry as { deliveries?: unknown } | undefined;
  const deliveries = typeof retry === "object" && retry !== null ? retry.deliveries : undefined;
  return typeof deliveries === "number" && Number.isInteger(deliveries) && deliveries >= 0
    ? deliveries + 1
    : 1;
}

/** The job fields (any kind) a worker report sets, besides the status. */
export function reportFields(
  kind: Report,
  report: StatusReport,
  current: JobRow,
  now: number,
): Updateable<JobsTable> {
  const host = report.host ?? report.information ?? current.host;
  const attempts = Math.max(current.attempts, reportedAttempt(report));
  const common = {
    host,
    attempts,
    ...(report.log_file ? { log_file: report.log_file } : {}),
    ...(report.err_file ? { err_file: report.err_file } : {}),
    ...(report.output_dir ? { output_dir: report.output_dir } : {}),
  };
  const ran = {
    ...(report.executor ? { executor: report.executor } : {}),
    ...(report.external_id ? { external_id: report.external_id } : {}),
    ...(report.peak_memory_bytes != null ? { peak_memory_bytes: report.peak_memory_bytes } : {}),
  };
  // What every final report of a script that ran sets.
  const finished = () => ({
    ...common,
    ...ran,
    started_at: current.started_at ?? ms(report.started_at, now),
    finished_at: ms(report.finished_at, now),
    retry_at: null,
  });
  switch (kind) {
    case "started": {
      const attempt = reportedAttempt(report);
      const restarted = attempt > 1 && current.started_at !== null;
      return {
        ...common,
        ...ran,
        started_at: ms(report.started_at, now),
        retry_at: null,
        message: restarted ? `attempt ${attempt - 1} was interrupted; running again` : null,
      };
    }
    case "retrying":
      return {
        ...common,
        retry_at: ms(report.retry_at, now),
        message: report.error ?? "waiting to be tried again",
      };
    case "handed_back":
      return {
        ...common,
        message: `attempt ${report.attempt ?? 1} was interrupted: ${report.error ?? "its worker stopped"}; the job is back in the queue`,
      };
    case "complete":
      return {
        ...finished(),
        output_files: JSON.stringify(report.output_files ?? []),
        exit_code: report.exit_code ?? 0,
        message: report.information && report.information !== host ? report.information : null,
      };
    case "error":
      return {
        ...finished(),
        exit_code: report.exit_code ?? null,
        message: withTail(report.error ?? "the worker reported an error without a reason", report.log_tail),
      };
    case "disabled":
      return {
        ...common,
        finished_at: now,
        message: report.error ?? `reduction is disabled for ${report.instrument}: no reduction script`,
      };
  }
}

/** The error followed by the last lines the script wrote to stderr, which usually say why. */
function withTail(error: string, tail: string | undefined): string {
  return tail?.trim() ? `${error}\n\nlast lines of stderr:\n${tail}` : error;
}
