import type { HeartbeatMessage } from "../messages/heartbeat.ts";
import { type Heartbeat, startHeartbeat } from "./heartbeat.ts";
import { move, type PartState } from "./part-lifecycle.ts";
import type { PartContext, PartDeclaration, PartStart, RunningPart } from "./part-registry.ts";
import { type RestartPolicy, restartDecision } from "./restart-policy.ts";

/** What `status` shows of a part, sent in each of its heartbeats. */
export interface PartReport {
  /** Its lifecycle state (`part-lifecycle.ts`). */
  part_state: PartState;
  /** Times it was restarted after a failure since the process started. */
  restarts: number;
  /** The message of its last failure; null if it never failed. */
  last_error: string | null;
}

export interface SupervisedPartDeps {
  declaration: PartDeclaration;
  /** Starts the part (the CLI wires each part's start: `cli/part-starts.ts`). */
  start: PartStart;
  /** Everything the part is given but `fail`, which the supervisor supplies. */
  context: Omit<PartContext, "fail">;
  policy: RestartPolicy;
  /** Records this process's own heartbeats directly (the process that records heartbeats). */
  record?: (beat: HeartbeatMessage) => Promise<void>;
  /** Called once when the part failed too often and is given up. */
  onGiveUp(part: string, error: unknown): void;
  now?: () => number;
}

/**
 * Runs one part through its lifecycle: starts it, restarts it with backoff when its start
 * rejects or it reports a fatal error (by `policy`), gives it up after too many failures, and
 * stops it. The part's heartbeat runs from the first start to the stop, also while the part is
 * failed, and carries its state, restarts and last error.
 */
export class SupervisedPart {
  private state: PartState = "starting";
  private restarts = 0;
  private lastError: string | null = null;
  private readonly failures: number[] = [];
  private running: RunningPart | null = null;
  private heartbeat: Heartbeat | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private attempt: Promise<void> = Promise.resolve();
  /** The stop of a run that failed while running: the next start waits for it (e.g. its port). */
  private cleanup: Promise<void> = Promise.resolve();
  private stopRequested = false;
  private givenUp = false;
  private readonly now: () => number;

  constructor(private readonly deps: SupervisedPartDeps) {
    this.now = deps.now ?? Date.now;
  }

  get name(): string {
    return this.deps.declaration.name;
  }

  report(): PartReport {
    return { part_state: this.state, restarts: this.restarts, last_error: this.lastError };
  }

  /** Starts the heartbeat and the part; resolves when the first start succeeded or failed. */
  async start(): Promise<void> {
    const { context, declaration } = this.deps;
    this.heartbeat = await startHeartbeat({
      ...context,
      kind: declaration.name,
      details: () => ({ ...this.running?.details?.(), ...this.report() }),
      ...(this.deps.record ? { record: this.deps.record } : {}),
    });
    this.attempt = this.startOnce();
    await this.attempt;
  }

  /** Drains and stops the part (or cancels a pending restart), then sends its last heartbeat. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.attempt;
    await this.cleanup;
    if (this.state === "running") {
      this.state = move(this.name, this.state, "draining");
      try {
        await this.running?.stop();
        this.state = move(this.name, this.state, "stopped");
      } catch (e) {
        this.failedWith(e);
      }
    } else if (this.state === "failed" && !this.givenUp) {
      this.state = move(this.name, this.state, "stopped");
    }
    this.running = null;
    await this.heartbeat?.stop();
  }

  private async startOnce(): Promise<void> {
    const { context } = this.deps;
    if (this.state === "failed") this.state = move(this.name, this.state, "starting");
    let current: RunningPart | null = null;
    const fail = (error: unknown) => {
      // A fatal error of an earlier run of the part, or after its stop, changes nothing.
      if (current === null || current !== this.running || this.state !== "running") return;
      this.onFailure(error, current);
    };
    try {
      await this.cleanup;
      current = await this.deps.start({ ...context, fail });
    } catch (e) {
      this.onFailure(e, null);
      return;
    }
    this.running = current;
    this.state = move(this.name, this.state, "running");
    context.log.info({ part: this.name, restarts: this.restarts }, "part running");
    if (this.restarts > 0) context.say(`${this.name}: running again (restart ${this.restarts})`);
  }

  private failedWith(error: unknown): void {
    this.state = move(this.name, this.state, "failed");
    this.lastError = errorText(error);
    this.deps.context.log.error({ err: error, part: this.name }, "part failed");
  }

  /** A failure: stop what is left of the part, then restart it later or give it up. */
  private onFailure(error: unknown, broken: RunningPart | null): void {
    this.failedWith(error);
    this.running = null;
    this.failures.push(this.now());
    if (broken)
      this.cleanup = broken
        .stop()
        .catch((e) => this.deps.context.log.warn({ err: e, part: this.name }, "stopping a failed part"));
    if (this.stopRequested) return;
    const decision = restartDecision(this.failures, this.now(), this.deps.policy);
    const { say } = this.deps.context;
    if (!decision.restart) {
      this.givenUp = true;
      say(`${this.name}: failed (${this.lastError}); given up after ${decision.failures} failures`);
      this.deps.onGiveUp(this.name, error);
      return;
    }
    const seconds = Math.round(decision.delayMs / 100) / 10;
    say(`${this.name}: failed (${this.lastError}); restarting in ${seconds} s`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopRequested) return;
      this.restarts++;
      this.attempt = this.startOnce();
    }, decision.delayMs);
  }
}

/** The first line of an error's message, for `status` and the console. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
