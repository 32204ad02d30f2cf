import { tmpdir } from "node:os";
import { join } from "node:path";

/** The test run's shared brokers live here, across the test processes of one run. */
export const SHARED_DIR = join(tmpdir(), "autoreduce-services");
export const SHARED_ACTIVEMQ_DIR = join(SHARED_DIR, "activemq");
export const SHARED_STATE_FILE = join(SHARED_DIR, "state.json");

export interface SharedState {
  activemqPort?: number;
  /** What `start` started (and `stop` stops). */
  started: string[];
  /** Test runs (pids) using the servers; the last to stop stops them. */
  owners?: number[];
}
