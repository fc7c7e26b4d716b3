/**
 * The object's ranges as restore reads them (restore_copy.ts): exactly the length asked for, or
 * the reason why not (`lost`: the object went or changed), pinned to the state's version or,
 * without one, to its ETag.
 */
import { TargetError } from "../targets/errors.ts";
import type { RangeOptions } from "../targets/target.ts";
import type { FileJob } from "./file_job.ts";
import type { State } from "./records.ts";

/** Bytes per GET and per pwrite: restore's memory is one chunk per file (chunk_buffer.ts). */
export const RESTORE_CHUNK = 8 * 1024 * 1024;

/**
 * Reads exactly `length` bytes of the state's object, or says why not. Without a version id the
 * read carries If-Match with the state's ETag: an object overwritten mid-restore is refused by
 * the store (412), so it is reported as the object that changed (`lost`), not as a file
 * written to (`dirty`) at the verify.
 */
export async function objectRange(
  job: Pick<FileJob, "target">,
  state: State,
  offset: number,
  length: number,
  options: Pick<RangeOptions, "into" | "signal"> = {},
): Promise<Uint8Array | string> {
  const version = state.versionId ?? null;
  const ifMatch = version === null ? { ifMatch: state.etag } : {};
  try {
    const bytes = await job.target.readRange(state.key, version, offset, length, {
      ...options,
      ...ifMatch,
    });
    return exactly(state, offset, length, bytes);
  } catch (err) {
    if (err instanceof TargetError && err.status === 412)
      return `its object ${state.key} changed during the restore (its ETag is no longer ${state.etag}): it was overwritten outside tiermv, and the released bytes are gone unless the bucket keeps versions; the stub is left as it was`;
    throw err;
  }
}

/** `bytes` when they are `length` bytes of the object at `offset`; else why not. */
export function exactly(state: State, offset: number, length: number, bytes: Uint8Array | null) {
  if (bytes === null) return `its object ${state.key} disappeared during the restore`;
  if (bytes.length !== length)
    return `its object ${state.key} changed during the restore (${bytes.length} bytes at ${offset}, expected ${length})`;
  return bytes;
}

/**
 * The chunk at `offset`, started now and awaited later: a copy that stops early (dirty, lost, a
 * failed write) never awaits it, so its failure is marked handled here.
 */
export function prefetch(
  job: FileJob,
  state: State,
  offset: number,
  options: Pick<RangeOptions, "into" | "signal">,
): Promise<Uint8Array | string> {
  const length = Math.min(RESTORE_CHUNK, state.size - offset);
  const pending = objectRange(job, state, offset, length, options);
  pending.catch(() => null);
  return pending;
}
