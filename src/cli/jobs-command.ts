import { Command, Option } from "commander";
import { type JobView, jobDetail, listJobs } from "../store/job-views.ts";
import { JOB_KINDS, type JobKind, type JobStatus } from "../store/schema.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";
import { positiveInt } from "./runs-command.ts";
import { formatTable } from "./table.ts";

const STATUSES: JobStatus[] = [
  "queued",
  "running",
  "retrying",
  "completed",
  "error",
  "disabled",
  "skipped",
  "cancelled",
];

interface JobsOptions {
  config?: string;
  kind?: JobKind;
  status?: JobStatus;
  subject?: string;
  limit: string | number;
  before?: number;
  job?: string;
  json?: boolean;
}

/** `autoreduce jobs`: every execution alike — reductions, watch steps, triggers, live sessions. */
export function jobsCommand(): Command {
  return new Command("jobs")
    .description(
      "list jobs of every kind (reduction, watch, trigger, live), newest first; --job ID shows one with its events",
    )
    .option("--config <file>", "configuration file (default ./autoreduce.yaml)")
    .addOption(new Option("--kind <kind>", "only this kind").choices(JOB_KINDS))
    .addOption(new Option("--status <status>", "only this status").choices(STATUSES))
    .option("--subject <name>", "only jobs of this watch rule, live instrument or trigger")
    .addOption(new Option("--limit <n>", "at most this many rows").default("100").argParser(positiveInt))
    .addOption(
      new Option("--before <id>", "the next page: jobs older than this id (the last `id` shown)").argParser(
        positiveInt,
      ),
    )
    .option("--job <job_id>", "show this job (any kind) with its events")
    .option("--json", "print JSON (a list: an array of jobs; --job: {job, script_text, events})")
    .action(async (options: JobsOptions) => {
      const c = await connect(configFromOption(options.config), "jobs", "warn");
      try {
        if (options.job) {
          const detail = await jobDetail(c.database, options.job);
          if (!detail) throw new CommandFailed(`no job ${options.job}`);
          process.stdout.write(
            options.json ? `${JSON.stringify(detail, null, 2)}\n` : `${jobText(detail.job, detail.events)}\n`,
          );
          return;
        }
        const jobs = await listJobs(c.database, {
          kind: options.kind,
          status: options.status,
          subject: options.subject,
          before: options.before,
          limit: Number(options.limit),
        });
        process.stdout.write(options.json ? `${JSON.stringify(jobs, null, 2)}\n` : `${jobsTable(jobs)}\n`);
      } finally {
        await c.close();
      }
    });
}

export function jobsTable(jobs: JobView[]): string {
  if (jobs.length === 0) return "no jobs";
  return formatTable(
    ["ID", "KIND", "SUBJECT", "STATUS", "EXECUTOR", "HOST", "CREATED", "MESSAGE"],
    jobs.map((j) => [
      String(j.id),
      j.kind,
      j.version === null ? j.subject : `${j.subject} v${j.version}`,
      j.status,
      j.executor ?? "-",
      j.host ?? "-",
      j.created_at,
      (j.message ?? "").split("\n")[0] ?? "",
    ]),
  );
}

function jobText(job: JobView, events: Array<{ destination: string; at: string }>): string {
  const fields = Object.entries(job)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  return [...fields, "", "events:", ...events.map((e) => `  ${e.at}  ${e.destination}`)].join("\n");
}
