/**
 * The lifecycle of one part (coordinator, listener, worker, web) in a process, in one place.
 *
 * - `starting`: its `start` was called and has not finished yet.
 * - `running`: it does its work (takes messages, watches the archive, answers HTTP).
 * - `draining`: asked to stop; it takes no new work and finishes (or hands back) what it holds.
 * - `stopped`: it stopped when asked (final).
 * - `failed`: its start rejected, or it reported a fatal error while running. Under `serve` it
 *   waits for a restart with backoff (→ `starting`); once given up, or in a one-part command, it
 *   stays failed and the process exits 1.
 *
 * A part goes starting → running → draining → stopped. Any of starting, running and draining may
 * fail; a failed part is started again, or stopped when the process stops while it waits.
 */
export type PartState = "starting" | "running" | "draining" | "stopped" | "failed";

export const PART_STATES: readonly PartState[] = ["starting", "running", "draining", "stopped", "failed"];

const NEXT: Readonly<Record<PartState, readonly PartState[]>> = {
  starting: ["running", "draining", "failed"],
  running: ["draining", "failed"],
  draining: ["stopped", "failed"],
  failed: ["starting", "stopped"],
  stopped: [],
};

/** Whether a part in `from` may move to `to`. */
export function canMove(from: PartState, to: PartState): boolean {
  return NEXT[from].includes(to);
}

/** Thrown when code asks a part for a move its lifecycle does not allow (a defect, not bad input). */
export class PartTransitionError extends Error {
  override readonly name = "PartTransitionError";
  constructor(
    readonly part: string,
    readonly from: PartState,
    readonly to: PartState,
  ) {
    super(`part ${part}: cannot go from ${from} to ${to}`);
  }
}

/** The state after a move, or a `PartTransitionError`. */
export function move(part: string, from: PartState, to: PartState): PartState {
  if (!canMove(from, to)) throw new PartTransitionError(part, from, to);
  return to;
}
