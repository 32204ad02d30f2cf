import { open } from "node:fs/promises";
import { resolve } from "node:path";
import type { Group } from "h5wasm/node";
import h5wasm from "h5wasm/node";
import { NexusReadError } from "./nexus-read-error.ts";

/** Run metadata read from the first NXentry of a NeXus file. Fields missing from the file are absent. */
export interface NexusMetadata {
  run_number?: number;
  title?: string;
  start_time?: string;
  end_time?: string;
  experiment_identifier?: string;
  instrument_name?: string;
  /** `entry/sample/name`: routing rules may match it. */
  sample_name?: string;
  total_events?: number;
}

/** The 8-byte HDF5 superblock signature; it sits at offset 0, 512, 1024, 2048, ... (after a user block). */
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Scalar fields are only read when they are this small, so a wrongly shaped field never loads a big array. */
const MAX_SCALAR_ELEMENTS = 16;
/** Event banks counted when `total_counts` is absent (SNS also has bank_error_events etc., not counted). */
const EVENT_BANK_NAME = /^bank\d+_events$/;

/**
 * Reads run metadata from a NeXus/HDF5 file: `entry/run_number`, `title`, `start_time`, `end_time`,
 * `experiment_identifier`, `instrument/name`, and `total_counts` (or the summed length of the
 * `bank<N>_events` event lists). The file is read in place through the Node file system and always closed.
 * A valid HDF5 file without these fields (or without an NXentry) yields an object with those fields absent.
 * @throws NexusReadError if the file does not exist, is not HDF5, or cannot be opened or read.
 */
export async function readNexusMetadata(path: string): Promise<NexusMetadata> {
  const absolute = resolve(path);
  await checkHdf5Signature(path, absolute);
  await h5wasm.ready;
  const file = new h5wasm.File(absolute, "r");
  if (file.file_id < 0n) {
    throw new NexusReadError(path, "the HDF5 library could not open the file (corrupt or truncated?)");
  }
  try {
    const entry = findEntry(file);
    return entry ? readEntry(entry) : {};
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new NexusReadError(path, `error while reading: ${message}`, { cause: e });
  } finally {
    file.close();
  }
}

/** Fails fast with a clear reason (and without HDF5's noisy stderr diagnostics) for missing or non-HDF5 files. */
async function checkHdf5Signature(path: string, absolute: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(absolute, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "file does not exist" : `cannot open file (${code ?? String(e)})`;
    throw new NexusReadError(path, reason, { cause: e });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new NexusReadError(path, "not a regular file");
    const size = stats.size;
    const buffer = Buffer.alloc(HDF5_SIGNATURE.length);
    for (let offset = 0; offset + buffer.length <= size; offset = offset === 0 ? 512 : offset * 2) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === buffer.length && buffer.equals(HDF5_SIGNATURE)) return;
    }
  } catch (e) {
    if (e instanceof NexusReadError) throw e;
    throw new NexusReadError(path, `cannot read file (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  } finally {
    await handle.close();
  }
  throw new NexusReadError(path, "not an HDF5 file (no HDF5 signature found)");
}

/** The first top-level group with NX_class=NXentry, else a group named "entry". */
function findEntry(file: Group): Group | undefined {
  for (const name of file.keys()) {
    const child = file.get(name);
    if (child instanceof h5wasm.Group && readAttributeString(child, "NX_class") === "NXentry") return child;
  }
  const entry = file.get("entry");
  return entry instanceof h5wasm.Group ? entry : undefined;
}

function readEntry(entry: Group): NexusMetadata {
  const metadata: NexusMetadata = {
    run_number: readNumber(entry, "run_number"),
    title: readString(entry, "title"),
    start_time: readString(entry, "start_time"),
    end_time: readString(entry, "end_time"),
    experiment_identifier: readString(entry, "experiment_identifier"),
    instrument_name: readString(entry, "instrument/name"),
    sample_name: readString(entry, "sample/name"),
    total_events: readNumber(entry, "total_counts") ?? sumEventBanks(entry),
  };
  // Drop absent fields so callers (and deepEqual) see them as missing rather than undefined-valued.
  for (const key of Object.keys(metadata) as (keyof NexusMetadata)[]) {
    if (metadata[key] === undefined) delete metadata[key];
  }
  return metadata;
}

function readAttributeString(group: Group, name: string): string | undefined {
  if (!(name in group.attrs)) return undefined;
  return firstString(group.get_attribute(name, false));
}

/** A small dataset's value, or undefined if it is missing, not a dataset, or too large to be a scalar. */
function readSmallValue(group: Group, name: string): unknown {
  const dataset = group.get(name);
  if (!(dataset instanceof h5wasm.Dataset)) return undefined;
  const elements = dataset.shape?.reduce((a, b) => a * b, 1) ?? 0;
  if (elements < 1 || elements > MAX_SCALAR_ELEMENTS) return undefined;
  return dataset.value;
}

/** Reads a fixed- or variable-length string, scalar or 1-element array; blank strings count as absent. */
function readString(group: Group, name: string): string | undefined {
  return firstString(readSmallValue(group, name));
}

/** Reads a number stored as an integer/float (scalar or 1-element array) or as a numeric string (as SNS does). */
function readNumber(group: Group, name: string): number | undefined {
  const value = readSmallValue(group, name);
  const first = ArrayBuffer.isView(value) || Array.isArray(value) ? (value as ArrayLike<unknown>)[0] : value;
  if (typeof first === "number" || typeof first === "bigint") return Number(first);
  const text = firstString(first);
  if (text === undefined) return undefined;
  const parsed = Number(text);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function firstString(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== "string") return undefined;
  // Fixed-length strings may be space-padded (h5wasm already cuts NUL padding).
  const trimmed = first.trimEnd();
  return trimmed === "" ? undefined : trimmed;
}

/** Sum of the event-list lengths of the bank<N>_events groups, read from dataset shapes only. */
function sumEventBanks(entry: Group): number | undefined {
  let total: number | undefined;
  for (const name of entry.keys()) {
    if (!EVENT_BANK_NAME.test(name)) continue;
    const bank = entry.get(name);
    if (!(bank instanceof h5wasm.Group)) continue;
    const events = bank.get("event_id") ?? bank.get("event_time_offset");
    if (!(events instanceof h5wasm.Dataset)) continue;
    total = (total ?? 0) + (events.shape?.[0] ?? 0);
  }
  return total;
}
