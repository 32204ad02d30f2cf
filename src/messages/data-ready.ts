import { z } from "zod";
import { experimentName, pathComponent } from "./path-component.ts";

/**
 * `POSTPROCESS.DATA_READY`: a run's raw data file is complete. The fields are the SNS ones
 * (sent by SNS's translation service and by our listener); fields we add are optional and
 * ignored by SNS consumers. Unknown fields are kept and passed on.
 */
/** The fields that identify a run in every SNS message about it. */
export const snsRunFields = {
  facility: z.string().min(1),
  /** Becomes a folder name: letters, digits, `.`, `_`, `-` (see path-component.ts). */
  instrument: pathComponent(),
  /** Experiment: SNS IPTS ("IPTS-1234") or ISIS RB number. Becomes a folder name, like `instrument`. */
  ipts: z
    .union([z.string().min(1), z.number()])
    .transform(String)
    .pipe(pathComponent()),
  /** A number, or a string of digits (SNS sends both). */
  run_number: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform(Number),
  /** Absolute path of the raw data file. */
  data_file: z.string().min(1),
};

export const DataReadySchema = z.looseObject({
  ...snsRunFields,
  /**
   * The experiment as the sender claims it. Only malformed names (empty, `/`, `\`, control
   * characters) are refused here; the coordinator records a run whose experiment does not fit
   * the instrument's `experiment_pattern` as skipped (see coordinator/data-ready-intake.ts).
   */
  ipts: experimentName(),
  information: z.string().optional(),
  // ----- ours (additive) -----
  /** Who or what asked: "listener", "submit:<user>", ... */
  started_by: z.string().optional(),
  /** Metadata the listener read from the NeXus file. */
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** Identifies the content (path, size, mtime) so a re-sent notice does not make a second version. */
  dedupe_key: z.string().optional(),
});
export type DataReady = z.infer<typeof DataReadySchema>;
/** A DATA_READY as its sender writes it: what `messageBody` takes. */
export type DataReadyFields = z.input<typeof DataReadySchema>;

/** The run facts the SNS workflow manager derives from a bare file-path body (legacy STC form). */
export interface PathFacts {
  facility: string;
  instrument: string;
  ipts: string;
  run_number: number;
  data_file: string;
}

const SNS_PATH = /^\/(SNS|HFIR)\/([^/]+)\/(IPTS-\d+)\/(?:.*\/)?\2_(\d+)(?:_event)?\.nxs(?:\.h5)?$/i;

/** Decodes `/SNS/EQSANS/IPTS-1234/nexus/EQSANS_5678.nxs.h5` as SNS does; null when it does not fit. */
export function decodeSnsPath(path: string): PathFacts | null {
  const m = SNS_PATH.exec(path);
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return null;
  return {
    facility: m[1].toUpperCase(),
    instrument: m[2].toUpperCase(),
    ipts: m[3].toUpperCase(),
    run_number: Number(m[4]),
    data_file: path,
  };
}
