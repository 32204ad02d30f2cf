import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import type { ReductionChange } from "../messages/change-event.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import type { Transport } from "../transport/transport.ts";

/** The long-running parts of the system, each a command `autoreduce <name>`. */
export type PartName = "coordinator" | "listener" | "worker" | "web";

/** What a part is given when it starts. The process that hosts it owns all of it. */
export interface PartContext {
  config: Config;
  log: Logger;
  transport: Transport;
  /** The state database; null in a process without one (a worker on its own). */
  database: SqlDatabase | null;
  /** Reports a fatal error after start: the part turns `failed` (and `serve` restarts it). */
  fail(error: unknown): void;
  /** Writes one short human line on the console (`serve`'s terminal view). */
  say(text: string): void;
  /** web: when `api.port` is taken, listen on a free port instead (the demo). Default false. */
  portFallback?: boolean;
  /** coordinator: called on every change of a reduction (`serve` prints them). */
  onReductionChange?: (change: ReductionChange) => void;
}

/** A started part. */
export interface RunningPart {
  /** Drains and stops it: takes no new work, finishes or hands back what it holds. */
  stop(): Promise<void>;
  /** Fields added to the part's heartbeat, read at each beat (worker: running, slots, queues). */
  details?(): Record<string, unknown>;
}

export type PartStart = (context: PartContext) => Promise<RunningPart>;

/**
 * A part, declared once. `serve`, `autoreduce <part>`, heartbeats, `status` and generated service
 * units all read this declaration. How each part is started is wired in `cli/part-starts.ts`
 * (the one place that imports every part), keyed by the same names, so that this folder depends
 * on no part.
 */
export interface PartDeclaration {
  /** The command (`autoreduce <name>`) and the part's name in `serve` and `status`. */
  name: PartName;
  /** One line for `--help` and a unit's `Description=`. */
  description: string;
  /** What the process must open before the part starts. */
  needs: { database: boolean; transport: boolean };
  /** The `role` of its heartbeats (SNS's names where SNS has the part). */
  role: string;
  /** The process hosting it also records everybody's heartbeats (it owns the database). */
  recordsHeartbeats: boolean;
  /** systemd `Restart=` for a unit that runs it alone. */
  restart: "on-failure" | "always";
}

/** The arguments of the command that runs a part on its own, e.g. for a unit's `ExecStart=`. */
export function partCommandLine(part: PartDeclaration, configFile: string): string[] {
  return [part.name, "--config", configFile];
}

/** Every part, in the order `serve` starts them (and stops them in reverse). */
export const PARTS: readonly PartDeclaration[] = [
  {
    name: "coordinator",
    description:
      "run the coordinator: records runs and reductions, sends jobs to workers (needs the database)",
    needs: { database: true, transport: true },
    role: "workflowmgr",
    recordsHeartbeats: true,
    restart: "on-failure",
  },
  {
    name: "worker",
    description:
      "run a worker: takes reduction jobs from its queues and runs the instruments' scripts (needs only the transport)",
    needs: { database: false, transport: true },
    role: "postprocessing",
    recordsHeartbeats: false,
    restart: "on-failure",
  },
  {
    name: "web",
    description:
      "serve the web application (pages at /, the JSON API at /api/v1/) on api.host:api.port (needs the database and the transport; people sign in, scripts use tokens: `autoreduce token create`)",
    needs: { database: true, transport: true },
    role: "web",
    recordsHeartbeats: false,
    restart: "on-failure",
  },
  {
    name: "listener",
    description:
      "run the archive listener: announces complete run files (needs the database and the transport)",
    needs: { database: true, transport: true },
    role: "listener",
    recordsHeartbeats: false,
    restart: "on-failure",
  },
];

/** The declaration of a part by name. */
export function partDeclaration(name: PartName): PartDeclaration {
  const part = PARTS.find((p) => p.name === name);
  if (!part) throw new Error(`no part named ${name}`);
  return part;
}

/** The part whose heartbeats carry `role`, or null (another system's daemon, e.g. an SNS agent). */
export function partOfRole(role: string): PartDeclaration | null {
  return PARTS.find((p) => p.role === role) ?? null;
}
