import { Command } from "commander";
import { type DaemonView, listDaemons } from "../store/heartbeat-store.ts";
import { listRuns, statusCounts } from "../store/run-views.ts";
import { deadLetterQueues, deadLetterSummary } from "../transport/dead-letters.ts";
import { queueDepths } from "../transport/queue-depths.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { formatTable } from "./table.ts";

interface StatusOptions {
  config?: string;
  json?: boolean;
  all?: boolean;
}

export function statusCommand(): Command {
  return new Command("status")
    .description("show daemons, queue depths, reductions by status and what is running now")
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .option("--json", "print JSON")
    .option("--all", "also list daemons not heard from for more than a day")
    .action(async (options: StatusOptions) => {
      const c = await connect(configFromOption(options.config), "status", "warn");
      try {
        const { heartbeat } = c.config;
        const [daemons, queues, counts, running] = await Promise.all([
          listDaemons(c.database, Date.now(), {
            staleSeconds: heartbeat.stale_seconds,
            foreignIntervalSeconds: heartbeat.foreign_interval_seconds,
            deadSeconds: heartbeat.dead_seconds,
            ...(options.all ? { hideAfterSeconds: null } : {}),
          }),
          queueDepths(c.transport, c.config),
          statusCounts(c.database),
          listRuns(c.database, { status: "running", allVersions: true }),
        ]);
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ daemons, queues, reductions: counts, running }, null, 2)}\n`,
          );
          return;
        }
        const out = [
          "Daemons:",
          daemons.length ? daemonTable(daemons) : "none heard from (is the coordinator running?)",
          "",
          "Queues (messages waiting):",
          formatTable(
            ["QUEUE", "WAITING"],
            Object.entries(queues)
              .filter(([name, n]) => n !== 0 || !name.includes("DLQ."))
              .map(([name, n]) => [name, n === null ? "? (the broker does not tell)" : String(n)]),
          ),
          deadLetterSummary(queues, deadLetterQueues(c.config)),
          "",
          "Reductions by status:",
          Object.keys(counts).length
            ? formatTable(
                ["STATUS", "COUNT"],
                Object.entries(counts).map(([s, n]) => [s, String(n)]),
              )
            : "none yet",
          "",
          "Running now:",
          running.length
            ? formatTable(
                ["INSTRUMENT", "RUN", "VERSION", "HOST", "SINCE"],
                running.map((r) => [
                  r.instrument,
                  String(r.run_number),
                  String(r.version),
                  r.host ?? "-",
                  r.started_at ?? "-",
                ]),
              )
            : "nothing",
        ];
        process.stdout.write(`${out.join("\n")}\n`);
      } finally {
        await c.close();
      }
    });
}

function daemonTable(daemons: DaemonView[]): string {
  const table = formatTable(
    ["NAME", "ROLE", "PID", "STATE", "PART", "LAST SEEN", "RUNNING", "SLOTS"],
    daemons.map((d) => [
      d.src_name,
      d.role,
      String(d.pid),
      d.state,
      formatPart(d.part_state, d.restarts),
      formatAge(d.age_seconds),
      formatRunning(d.running),
      d.slots === null ? "-" : String(d.slots),
    ]),
  );
  const errors = daemons
    .filter((d) => d.last_error !== null && (d.part_state === "failed" || d.state === "ok"))
    .map((d) => `  ${d.role} ${d.pid} last failed: ${d.last_error}`);
  return errors.length ? `${table}\n${errors.join("\n")}` : table;
}

/**
 * The PART cell: the part's lifecycle state, with its restarts when there were any
 * (`failed, 3 restarts`); `-` for a daemon that does not send it (an SNS agent).
 */
export function formatPart(state: string | null, restarts: number | null): string {
  if (state === null) return "-";
  if (!restarts) return state;
  return `${state}, ${restarts} restart${restarts === 1 ? "" : "s"}`;
}

/** `3 s ago`, `4 min ago`, `2 h ago`, `3 d ago`. */
export function formatAge(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/**
 * `-` (not a worker), `0`, or the count with the start of the first job ids, `2: 1f0c2a9e, 77b3d1c4`
 * (the full ids are in `--json`).
 */
export function formatRunning(running: string[] | null): string {
  if (running === null) return "-";
  if (running.length === 0) return "0";
  const shown = running
    .slice(0, 3)
    .map((id) => id.slice(0, 8))
    .join(", ");
  return `${running.length}: ${shown}${running.length > 3 ? ", ..." : ""}`;
}
