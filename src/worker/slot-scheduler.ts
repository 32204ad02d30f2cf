/**
 * The worker's own queue. A job taken from the broker either starts at once or waits here until
 * its limits allow it: at most `maxProcs` at a time, at most `perInstrument` of one instrument
 * (0: no limit), and one at a time per experiment where the instrument asks for it (ISIS's rule).
 * Waiting jobs start in run order within their instrument — work is never handed back to the
 * broker to wait (the SNS agent's NACK lost run order that way).
 */
export interface SlotRequest {
  /** Unique per job (the job id). */
  key: string;
  instrument: string;
  experiment: string;
  runNumber: number;
  /** Arrival order at this worker. */
  seq: number;
}

export interface SlotLimits {
  maxProcs: number;
  /** Jobs of one instrument at once; 0 for no limit. */
  perInstrument: (instrument: string) => number;
  /** True if the instrument runs one job at a time per experiment. */
  onePerExperiment: (instrument: string) => boolean;
}

/**
 * The waiting job to start next, or null. Pure. A job may start if a slot is free, its
 * instrument is under its limit and (where asked) no job of its experiment runs. Among those,
 * each instrument offers its lowest run number, and the one that arrived first wins.
 */
export function pickNext(
  waiting: readonly SlotRequest[],
  running: readonly SlotRequest[],
  limits: SlotLimits,
): SlotRequest | null {
  if (running.length >= limits.maxProcs) return null;
  const perInstrument = new Map<string, number>();
  const busyExperiments = new Set<string>();
  for (const job of running) {
    perInstrument.set(job.instrument, (perInstrument.get(job.instrument) ?? 0) + 1);
    busyExperiments.add(experimentKey(job));
  }
  const offers = new Map<string, SlotRequest>();
  for (const job of waiting) {
    const limit = limits.perInstrument(job.instrument);
    if (limit > 0 && (perInstrument.get(job.instrument) ?? 0) >= limit) continue;
    if (limits.onePerExperiment(job.instrument) && busyExperiments.has(experimentKey(job))) continue;
    const offer = offers.get(job.instrument);
    if (
      !offer ||
      job.runNumber < offer.runNumber ||
      (job.runNumber === offer.runNumber && job.seq < offer.seq)
    )
      offers.set(job.instrument, job);
  }
  let best: SlotRequest | null = null;
  for (const offer of offers.values()) if (!best || offer.seq < best.seq) best = offer;
  return best;
}

const experimentKey = (job: SlotRequest) => `${job.instrument}\u0000${job.experiment}`;

/** The job was taken out of the worker's queue before it started (cancelled, or the worker stops). */
export class SlotWithdrawn extends Error {
  override readonly name = "SlotWithdrawn";
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`job ${key} withdrawn: ${reason}`);
  }
}

interface Waiter {
  request: SlotRequest;
  grant: () => void;
  refuse: (error: SlotWithdrawn) => void;
}

/** Hands out slots by `pickNext`; `acquire` resolves when the job may start. */
export class SlotScheduler {
  private readonly waiting: Waiter[] = [];
  private readonly running = new Map<string, SlotRequest>();
  private seq = 0;

  constructor(private readonly limits: SlotLimits) {}

  /** Waits for a slot; resolves with the function that gives it back. Rejects with SlotWithdrawn. */
  acquire(job: Omit<SlotRequest, "seq">): Promise<() => void> {
    const request = { ...job, seq: this.seq++ };
    return new Promise<() => void>((resolve, reject) => {
      this.waiting.push({
        request,
        grant: () => resolve(() => this.release(request.key)),
        refuse: reject,
      });
      this.dispatch();
    });
  }

  /** Takes a waiting job out (it will not start). False if it is not waiting here. */
  withdraw(key: string, reason: string): boolean {
    const index = this.waiting.findIndex((w) => w.request.key === key);
    if (index < 0) return false;
    const [waiter] = this.waiting.splice(index, 1);
    waiter?.refuse(new SlotWithdrawn(key, reason));
    return true;
  }

  /** Takes every waiting job out (the worker is stopping). */
  withdrawAll(reason: string): void {
    for (const waiter of this.waiting.splice(0)) waiter.refuse(new SlotWithdrawn(waiter.request.key, reason));
  }

  /** Jobs running, and jobs waiting for a slot, by key. */
  get state(): { running: string[]; waiting: string[] } {
    return { running: [...this.running.keys()], waiting: this.waiting.map((w) => w.request.key) };
  }

  private release(key: string): void {
    if (this.running.delete(key)) this.dispatch();
  }

  private dispatch(): void {
    for (;;) {
      const next = pickNext(
        this.waiting.map((w) => w.request),
        [...this.running.values()],
        this.limits,
      );
      if (!next) return;
      const index = this.waiting.findIndex((w) => w.request === next);
      const [waiter] = this.waiting.splice(index, 1);
      this.running.set(next.key, next);
      waiter?.grant();
    }
  }
}
