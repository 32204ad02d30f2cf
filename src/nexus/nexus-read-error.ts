import { RefusedError } from "../failures/refused-error.ts";

/**
 * Thrown when a NeXus (HDF5) file cannot be read at all: it does not exist, is not an HDF5 file,
 * or the HDF5 library refuses to open it. Missing metadata fields are not errors.
 */
export class NexusReadError extends RefusedError {
  /** The file that could not be read, as given by the caller. */
  readonly path: string;
  /** Short human-readable cause, e.g. "not an HDF5 file (no HDF5 signature found)". */
  override readonly reason: string;

  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot read NeXus file ${path}: ${reason}`, options);
    this.name = "NexusReadError";
    this.path = path;
    this.reason = reason;
  }
}
