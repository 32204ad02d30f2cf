import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { isAbsolute } from "node:path";
import { rootHolding } from "./job-checks.ts";

/**
 * The SNS agent's intake checks (`BaseProcessor._process_data`), for `worker.sns_compatible`: a
 * job failing one goes to `POSTPROCESS.ERROR` at once with the agent's text — no retries, no
 * REDUCTION.* report — since that is what SNS's workflow manager and WebMon expect. The order
 * and the texts are the agent's: the data file first (present, then openable), then
 * `facility`, `instrument`, `ipts`, `run_number` (present; their values are judged later, by
 * the schema and by acceptance).
 *
 * One difference, for safety: the data file is opened only when it lies inside this worker's
 * archive roots; one outside them is left to acceptance, which refuses it without touching it.
 */
export function agentIntakeProblem(body: Record<string, unknown>, archiveRoots: string[]): string | null {
  // The agent formats its own attribute, still None when the key is absent.
  if (!("data_file" in body)) return "data_file is missing: None";
  const dataFile = String(body.data_file);
  const inside = isAbsolute(dataFile) && rootHolding(dataFile, archiveRoots) !== null;
  const fileProblem = inside ? dataFileOpenProblem(dataFile) : null;
  if (fileProblem) return fileProblem;
  for (const [key, text] of REQUIRED) if (!(key in body)) return text;
  return null;
}

const REQUIRED = [
  ["facility", "Facility is missing"],
  ["instrument", "Instrument is missing"],
  ["ipts", "IPTS is missing"],
  ["run_number", "Run number is missing"],
] as const;

/**
 * Whether the file opens for reading, in the agent's words (Python's `open()`: a folder or any
 * other failure is an "open error"). Opened non-blocking, so a FIFO cannot hold the worker.
 */
export function dataFileOpenProblem(dataFile: string): string | null {
  let fd: number;
  try {
    fd = openSync(dataFile, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return `Data file not found: ${dataFile}`;
    if (code === "EACCES" || code === "EPERM") return `Data file permission denied: ${dataFile}`;
    return `Data file open error for file ${dataFile}`;
  }
  try {
    return fstatSync(fd).isDirectory() ? `Data file open error for file ${dataFile}` : null;
  } finally {
    closeSync(fd);
  }
}
