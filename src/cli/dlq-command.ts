import { Command, CommanderError, Option } from "commander";
import type { Config } from "../config/load-config.ts";
import {
  DeadLetterRefused,
  deadLetterQueue,
  deadLetterQueues,
  describeDeadLetter,
  findDeadLetter,
  MOST_LOOKED_AT,
  planReinjection,
  reinject,
  workQueues,
} from "../transport/dead-letters.ts";
import type { QueuedMessage } from "../transport/transport.ts";
import { configFromOption, connect } from "./cli-context.ts";
import { CommandFailed } from "./command-failed.ts";
import { positiveInt } from "./runs-command.ts";
import { formatTable } from "./table.ts";

const opt = () => new Option("--config <file>", "configuration file (default ./autoreduce.yaml)");

/** `autoreduce dlq list|show|reinject|discard`: look at and act on dead letters and refused messages. */
export function dlqCommand(): Command {
  const dlq = new Command("dlq").description(
    "dead letters (DLQ.<queue>) and refused messages (the error queue): list, show, re-inject, discard",
  );
  dlq
    .command("list")
    .description("the messages of every dead-letter queue and the error queue (or of QUEUE)")
    .argument("[queue]", "one queue, e.g. DLQ.REDUCTION.DATA_READY")
    .addOption(opt())
    .addOption(new Option("--limit <n>", "messages shown per queue").argParser(positiveInt).default(50))
    .option("--json", "print JSON")
    .action(async (queue: string | undefined, o: { config?: string; limit: number; json?: boolean }) =>
      withTransport(o.config, async (config, c) => {
        const queues = queue
          ? [refusedAsUsage(() => deadLetterQueue(config, queue))]
          : deadLetterQueues(config);
        // At once: a look at a RabbitMQ queue waits 1.5 s for quiet, and there is one per work queue.
        const looks = await Promise.all(queues.map((q) => c.transport.browse(q, o.limit)));
        const all = Object.fromEntries(queues.map((q, i) => [q, looks[i] ?? []]));
        if (o.json) return print(JSON.stringify(all, null, 2));
        const shown = Object.entries(all).filter(([q, messages]) => messages.length > 0 || queue === q);
        if (shown.length === 0) return print(`no dead letters (looked in ${queues.length} queues)`);
        print(shown.map(([q, messages]) => listing(q, messages, o.limit)).join("\n\n"));
      }),
    );
  dlq
    .command("show")
    .description("one message, with its headers and body")
    .argument("<id>")
    .addOption(opt())
    .option("--queue <queue>", "look only in this queue")
    .option("--json", "print JSON")
    .action(async (id: string, o: { config?: string; queue?: string; json?: boolean }) =>
      withTransport(o.config, async (config, c) => {
        const message = await find(config, c.transport, id, o.queue);
        if (o.json) return print(JSON.stringify(message, null, 2));
        const { reason, from } = describeDeadLetter(message);
        const headers = Object.entries(message.headers).map(([k, v]) => `  ${k}: ${v}`);
        print(
          [
            `id:       ${message.id}`,
            `queue:    ${message.destination}`,
            `when:     ${when(message)}`,
            `from:     ${from}`,
            `reason:   ${reason}`,
            "headers:",
            ...(headers.length ? headers : ["  (none)"]),
            "body:",
            message.body,
          ].join("\n"),
        );
      }),
    );
  dlq
    .command("reinject")
    .description("send a message back to the queue it came from, then remove it here")
    .argument("[id]")
    .addOption(opt())
    .option("--all <queue>", "every message of this dead-letter queue")
    .option("--queue <queue>", "look for ID only in this queue")
    .option("--to <queue>", "send to this queue instead (one of the configuration's)")
    .action(
      async (id: string | undefined, o: { config?: string; all?: string; queue?: string; to?: string }) =>
        withTransport(o.config, async (config, c) => {
          const messages = await chosen(config, c.transport, id, o.all, o.queue);
          const known = workQueues(config);
          let failed = 0;
          for (const message of messages) {
            try {
              const plan = planReinjection(message, config.queues.postprocess_error, known, o.to);
              const { sentTo, removed } = await reinject(c.transport, message, plan);
              print(`${message.id}: sent to ${sentTo}${removed ? "" : " (it had already left its queue)"}`);
            } catch (e) {
              if (!(e instanceof DeadLetterRefused)) throw e;
              failed++;
              process.stderr.write(`autoreduce: ${e.message}\n`);
            }
          }
          if (failed > 0)
            throw new CommandFailed(`${failed} of ${messages.length} not re-injected (left where they were)`);
        }),
    );
  dlq
    .command("discard")
    .description("remove messages for good (prints what it would remove unless --yes)")
    .argument("[id]")
    .addOption(opt())
    .option("--all <queue>", "every message of this dead-letter queue")
    .option("--queue <queue>", "look for ID only in this queue")
    .option("--yes", "really remove them")
    .action(
      async (id: string | undefined, o: { config?: string; all?: string; queue?: string; yes?: boolean }) =>
        withTransport(o.config, async (config, c) => {
          const messages = await chosen(config, c.transport, id, o.all, o.queue);
          if (!o.yes) {
            const lines = messages.map((m) => `  ${m.id}  ${m.destination}  ${firstLine(m.body, 60)}`);
            return print(
              [
                `would remove ${messages.length} message(s):`,
                ...lines,
                "nothing removed: add --yes to remove them",
              ].join("\n"),
            );
          }
          let removed = 0;
          for (const message of messages)
            if (await c.transport.take(message.destination, message.id)) removed++;
          print(
            `removed ${removed} message(s)${removed < messages.length ? ` (${messages.length - removed} had already gone)` : ""}`,
          );
        }),
    );
  return dlq;
}

type Connected = Awaited<ReturnType<typeof connect>>;

async function withTransport(
  path: string | undefined,
  step: (config: Config, c: Connected) => Promise<void>,
) {
  const config = configFromOption(path);
  const c = await connect(config, "dlq", "warn");
  try {
    await step(config, c);
  } catch (e) {
    if (e instanceof DeadLetterRefused) throw new CommandFailed(e.message);
    throw e;
  } finally {
    await c.close();
  }
}

/** A queue name that is not a dead-letter queue is bad usage (exit 2). */
function refusedAsUsage<T>(step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof DeadLetterRefused) usage(e.message);
    throw e;
  }
}

/** Exit code 2: the command was asked for something it does not do. */
function usage(message: string): never {
  process.stderr.write(`autoreduce: ${message}\n`);
  throw new CommanderError(2, "autoreduce.usage", message);
}

async function find(config: Config, transport: Connected["transport"], id: string, queue?: string) {
  const queues = queue ? [deadLetterQueue(config, queue)] : deadLetterQueues(config);
  const message = await findDeadLetter(transport, queues, id);
  if (!message) throw new CommandFailed(`no message ${id} in ${queue ?? "the dead-letter and error queues"}`);
  return message;
}

/** The one message ID, or every message of `--all QUEUE` (up to MOST_LOOKED_AT). */
async function chosen(
  config: Config,
  transport: Connected["transport"],
  id: string | undefined,
  all: string | undefined,
  queue: string | undefined,
): Promise<QueuedMessage[]> {
  if ((id === undefined) === (all === undefined)) usage("give a message ID or --all QUEUE (not both)");
  if (id !== undefined) return [await find(config, transport, id, queue)];
  return transport.browse(
    refusedAsUsage(() => deadLetterQueue(config, all ?? "")),
    MOST_LOOKED_AT,
  );
}

function listing(queue: string, messages: QueuedMessage[], limit: number): string {
  const rows = messages.map((m) => {
    const { reason, from } = describeDeadLetter(m);
    return [
      m.id,
      when(m),
      from,
      firstLine(reason, 80),
      String(Buffer.byteLength(m.body)),
      firstLine(m.body, 50),
    ];
  });
  const more = messages.length >= limit ? ` (first ${limit} shown; --limit for more)` : "";
  return `${queue}: ${messages.length} message(s)${more}\n${formatTable(["ID", "WHEN", "FROM", "REASON", "BYTES", "BODY"], rows)}`;
}

function when(message: QueuedMessage): string {
  return message.enqueuedAt === null
    ? "-"
    : new Date(message.enqueuedAt).toISOString().replace(/\.\d+Z$/, "Z");
}

function firstLine(text: string, width: number): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > width ? `${line.slice(0, width - 3)}...` : line;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
