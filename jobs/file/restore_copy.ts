/**
 * Restore's copy into the stub's own inode (docs/tiering.md, steps 4 and 5). The file must be a
 * prefix of the object's bytes (the stub, an interrupted restore, or an intact file whose release
 * stopped before its truncate): anything else is `dirty` and never written (model:
 * `mutant-restore-dirty`). Then chunk by chunk: GET the range, fstat (ctime still the baseline,
 * size where we left it, else someone wrote: stop, `dirty`), pwrite, fstat again for the next
 * baseline (`mutant-restore-no-chunk-fence`), which must also be the size we wrote. A write
 * landing between a check and its pwrite is overwritten, and one landing between a check and
 * the truncate that takes our bytes back out (a failed pwrite, a failed GET, a stop) is cut off,
 * as is a write in place between a pwrite and the fstat after it: I6's window (docs/tiering.md).
 * The GET of chunk k+1 is sent while chunk k is fenced and written: it touches only the store,
 * never the file, and its body waits for the file's one chunk buffer (chunk_buffer.ts).
 */
import { errorCode } from "../../runtime/errors.ts";
import type { FileHandle, FileStat } from "../../runtime/types.ts";
import { crashPoint } from "../util/crash_points.ts";
import { type HoldPoint, holdPoint } from "../util/hold_points.ts";
import { ChunkBuffer } from "./chunk_buffer.ts";
import type { FileJob } from "./file_job.ts";
import type { State } from "./records.ts";
import { exactly, objectRange, prefetch, RESTORE_CHUNK } from "./restore_range.ts";

export { RESTORE_CHUNK };

export type CopyResult =
  /** The file holds the object's bytes; `baseline` is the fstat after the last write. */
  | { ok: true; baseline: FileStat; resumedAt: number }
  | { ok: false; kind: "dirty"; reason: string }
  | { ok: false; kind: "lost"; reason: string }
  /** ENOSPC or EDQUOT: our bytes were taken back out, the file is as the restore found it. */
  | { ok: false; kind: "nospace"; code: "ENOSPC" | "EDQUOT" }
  /** A graceful stop outlasted its grace: our bytes were taken back out, as for nospace. */
  | { ok: false; kind: "interrupted" };

const dirty = (reason: string): CopyResult => ({ ok: false, kind: "dirty", reason });
const lost = (reason: string): CopyResult => ({ ok: false, kind: "lost", reason });

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytes compared at a time by the prefix check: its memory stays small beside the chunk. */
const PREFIX_SLICE = 1024 * 1024;

/**
 * Why the file is not a prefix of the object's bytes (null: it is), or that the object went.
 * `first`: the object's first chunk as restore.ts read it with the object's headers, compared
 * here rather than read again. Beyond it, the object is read in 1 MiB ranges into a buffer of
 * their own (a forced restore writes `first` next), so a resumed restore holds its chunk and
 * 2 MiB, not three chunks. A resumed restore comes here, and migrate (stub.ts) and verify
 * meeting a released file with bytes.
 */
export async function notPrefix(
  job: Pick<FileJob, "target">,
  handle: FileHandle,
  state: State,
  size: number,
  first: Uint8Array | undefined,
) {
  if (size > state.size)
    return dirty(
      `written to since its release: ${size} bytes, longer than the released ${state.size}`,
    );
  let found: Uint8Array | undefined;
  let archived: Uint8Array | undefined;
  for (let offset = 0; offset < size; offset += PREFIX_SLICE) {
    const length = Math.min(PREFIX_SLICE, size - offset);
    const inFirst = first && offset + length <= first.length;
    archived ??= inFirst ? undefined : new Uint8Array(PREFIX_SLICE);
    const expected = inFirst
      ? first.subarray(offset, offset + length)
      : await objectRange(job, state, offset, length, { into: archived });
    if (typeof expected === "string") return lost(expected);
    found ??= new Uint8Array(PREFIX_SLICE);
    const mine = found.subarray(0, length);
    await handle.readInto(offset, mine);
    if (!sameBytes(mine, expected))
      return dirty(
        `written to since its release: its bytes differ from the archived ones within [${offset}, ${offset + length})`,
      );
  }
  return null;
}

/**
 * Puts the file back as the restore found it (`start`: its size and mtime, after a forced
 * truncate the empty file) unless someone else wrote since our last write (`base`'s ctime or
 * size moved): then false, and the file is left as it is. A write landing between that fstat
 * and the truncate is cut off with our bytes, as is a write in place within the same tick of the
 * kernel's clock as our last write (ctime cannot tell them apart): I6's window
 * (docs/tiering.md), held here by the soak (`restore-before-takeback`).
 */
async function takeBack(
  job: FileJob,
  handle: FileHandle,
  state: State,
  base: FileStat,
  start: FileStat,
): Promise<boolean> {
  const now = await handle.stat();
  if (now.ctimeNs !== base.ctimeNs || now.size !== base.size) return false;
  await putBack(job, handle, state, start);
  return true;
}

/** The truncate to the size the restore found and its mtime back, with no check of its own. */
async function putBack(job: FileJob, handle: FileHandle, state: State, start: FileStat) {
  const takingBack = holdIn(job, handle, state, "restore-before-takeback");
  if (takingBack) await takingBack;
  await handle.truncate(start.size);
  await handle.setTimes(undefined, start.mtimeNs);
}

/** Why a copy that ends early leaves the file as it is: someone wrote since our last write. */
const writtenMeanwhile = (offset: number, state: State) =>
  `written to during the restore (after ${offset} of ${state.size} bytes): stopped, left as it is`;

/**
 * A test-only hold (jobs/util/hold_points.ts): null when unset, and the call site then awaits
 * nothing, so no window widens by even a turn of the event loop.
 */
function holdIn(job: FileJob, handle: FileHandle, state: State, point: HoldPoint) {
  return holdPoint(job.rt, point, { path: handle.path, ino: state.ino });
}

type CopyOptions = {
  /**
   * restore --force, an operator's decision: a dirty file's own bytes are dropped (truncated)
   * and the archived ones written instead.
   */
  force?: boolean;
  /** The object's first chunk, already read (restore.ts), used when the copy starts at 0. */
  first?: Uint8Array | undefined;
};

/** Copies the object's bytes into the file from where its prefix ends (steps 4 and 5). */
export async function copyInto(
  job: FileJob,
  handle: FileHandle,
  state: State,
  options: CopyOptions = {},
): Promise<CopyResult> {
  // A copy that ends early (dirty, lost, out of space, a stop, an error) cancels its GET ahead
  // rather than leaving it to run to its end or its deadline; a finished copy has none left.
  const ended = new AbortController();
  try {
    return await copyChunks(job, handle, state, options, ended.signal);
  } finally {
    ended.abort();
  }
}

async function copyChunks(
  job: FileJob,
  handle: FileHandle,
  state: State,
  options: CopyOptions,
  ended: AbortSignal,
): Promise<CopyResult> {
  // One chunk buffer per file (chunk_buffer.ts); the first chunk, read with the object's headers
  // (restore.ts), is in it already, whether the copy starts at 0 or checks a prefix.
  const firstLength = Math.min(RESTORE_CHUNK, state.size);
  const first = options.first?.length === firstLength ? options.first : undefined;
  let chunk: ChunkBuffer | undefined;
  const buffer = () => {
    chunk ??= new ChunkBuffer(first ?? new Uint8Array(new SharedArrayBuffer(firstLength)), ended);
    return chunk;
  };
  let base = await handle.stat();
  let start = base;
  const problem = await notPrefix(job, handle, state, base.size, first);
  if (problem?.ok === false && problem.kind === "dirty" && options.force) {
    await handle.truncate(0);
    base = await handle.stat();
    start = base; // the dirty bytes are dropped by the operator's choice: never padded back
  } else if (problem) return problem;
  const resumedAt = base.size;
  // A stop (run's SIGTERM/SIGINT) lets a restore go on within shutdown.graceMs, as an upload;
  // past it the copy stops between chunks and takes its bytes back out.
  const stopped = () => job.uploadSignal?.aborted === true;
  // Past the grace: our bytes back out, unless someone wrote meanwhile (then left as it is).
  const stop = async (offset: number): Promise<CopyResult> =>
    (await takeBack(job, handle, state, base, start))
      ? { ok: false, kind: "interrupted" }
      : dirty(writtenMeanwhile(offset, state));
  // The GET of the next chunk is sent while this one is fenced and written, its body read into
  // the buffer once the write is done: a GET touches only the store, so the fences around each
  // pwrite stay exactly as they were.
  const fetch = (offset: number) =>
    prefetch(job, state, offset, { into: buffer().whenFree, signal: ended });
  let next =
    resumedAt >= state.size
      ? null
      : resumedAt === 0 && first
        ? Promise.resolve(exactly(state, 0, firstLength, first))
        : fetch(resumedAt);
  for (let offset = resumedAt; offset < state.size; offset += RESTORE_CHUNK) {
    const length = Math.min(RESTORE_CHUNK, state.size - offset);
    // The GET ahead is not awaited (its failure is handled: prefetch): the copy's end aborts
    // it, and waiting for it could outlast the grace.
    if (stopped()) return await stop(offset);
    const bytes = await (next as Promise<Uint8Array | string>).catch(async (err) => {
      // The store failed mid-copy: take our bytes back out before the error goes up, so no
      // prefix of the object is left for a later migrate to take as the file's content. The
      // store's error stays what the caller sees (the target is down); the file, written to
      // meanwhile, is said here and found dirty by the next restore.
      let taken: boolean;
      try {
        taken = await takeBack(job, handle, state, base, start);
      } catch (cleanup) {
        // The take-back's own error goes up (a mount past its deadline leaves the epoch
        // undecided, tier_file.ts: a truncate may still land); the store's is said here.
        job.log.warn(
          `${handle.path}: the store failed mid-restore (${(err as Error).message}), then taking the restore's bytes back out failed too; the next restore resumes from the file as it is, or finds it dirty`,
        );
        throw cleanup;
      }
      if (!taken) job.log.warn(`${handle.path}: ${writtenMeanwhile(offset, state)}`);
      throw err;
    });
    if (typeof bytes === "string") {
      // The object went or changed mid-copy: the file goes back to what the restore found.
      const taken = await takeBack(job, handle, state, base, start);
      return lost(taken ? bytes : `${bytes}; the file was ${writtenMeanwhile(offset, state)}`);
    }
    // A stop seen while the GET was under way: no more bytes are written past the grace.
    if (stopped()) return await stop(offset);
    buffer().hold();
    next = offset + length < state.size ? fetch(offset + length) : null;
    const now = await handle.stat();
    if (now.ctimeNs !== base.ctimeNs || now.size !== offset)
      return dirty(
        `written to during the restore (at ${offset} of ${state.size} bytes): stopped, nothing overwritten`,
      );
    // I6's window: a write landing from the fstat above to the pwrite is overwritten (the soak
    // keeps its writer off the file while held here).
    const beforeWrite = holdIn(job, handle, state, "restore-before-write");
    if (beforeWrite) await beforeWrite;
    try {
      await handle.write(offset, bytes);
    } catch (err) {
      const code = errorCode(err);
      // Our own failed write may have changed size and ctime: take our bytes back out whatever
      // the ctime says. A write of someone else's before the check above stopped us there; one
      // since then is cut off with ours (I6's window, docs/tiering.md).
      // If that fails too, the write's own error goes up: a write past its deadline must stay
      // what the caller sees (the epoch is then left undecided, not given back: tier_file.ts).
      try {
        await putBack(job, handle, state, start);
      } catch (cleanup) {
        job.log.warn(
          `${handle.path}: the restore's bytes could not be taken back out after a failed write: ${(cleanup as Error).message}`,
        );
        throw err;
      }
      if (code !== "ENOSPC" && code !== "EDQUOT") throw err;
      // Out of space (a full filesystem, a CephFS quota): the file is left as we found it.
      return { ok: false, kind: "nospace", code };
    }
    buffer().free();
    crashPoint(job.rt, "restore-mid-copy");
    const written = holdIn(job, handle, state, "restore-mid-copy");
    if (written) await written;
    base = await handle.stat();
    // A write landing between the pwrite and this fstat would be taken for ours by a take-back
    // (the next GET failing): one that grew the file stops the restore here, kept.
    if (base.size !== offset + bytes.length)
      return dirty(
        `written to during the restore (past ${offset + bytes.length} of ${state.size} bytes): stopped, nothing overwritten`,
      );
    crashPoint(job.rt, "restore-after-baseline");
  }
  return { ok: true, baseline: base, resumedAt };
}
