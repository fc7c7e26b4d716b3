/**
 * Step 4 of the per-file protocol: the upload of the bytes of the attempt's descriptor, with the
 * object metadata that names its attempt, epoch and version (ctime included, for resolution),
 * guarded by the epoch's write guard, and retried with exponential backoff on transient errors.
 * Every retry is a new put: signed, checked and sent again (the SDK's own retries are off).
 */
import type { FileHandle, FileStat } from "../../runtime/types.ts";
import { type StoredObject, TargetError, type UploadBody } from "../targets/target.ts";
import { delay } from "../util/async.ts";
import type { EpochGuard } from "./epoch_guard.ts";
import type { FileJob } from "./file_job.ts";

/**
 * A body up to this size is read with the fstat after the take, in its hand-off (the same two
 * calls in the same order: nothing else is done on the mount between them), and sent from there.
 */
export const READ_WITH_STAT_MAX = 64 * 1024;

/**
 * The body of an upload: the descriptor's bytes (never the path's). `head`, the bytes read with
 * the fstat of `size`, answers the first read of the whole body; every later read (a retry) goes
 * to the descriptor again.
 */
export function handleBody(
  handle: FileHandle,
  size: number,
  head: Uint8Array | null = null,
): UploadBody {
  let unread = head;
  return {
    size,
    async readInto(offset, target) {
      if (unread && offset === 0 && target.length === size) {
        target.set(unread);
        const n = unread.length;
        unread = null;
        return n;
      }
      return await handle.readInto(offset, target);
    },
    md5: (offset, length) => handle.md5(offset, length),
  };
}

/** Uploads the version `stat` of the descriptor to `key` for `attempt` of epoch `n`. */
export async function uploadWithRetry(
  job: FileJob,
  upload: {
    handle: FileHandle;
    key: string;
    stat: FileStat;
    attempt: string;
    n: number;
    guard: EpochGuard;
    head: Uint8Array | null;
  },
): Promise<StoredObject> {
  const { handle, key, stat, attempt, n, guard, head } = upload;
  const { uploadRetries, uploadRetryBaseMs } = job.config.migrate;
  const { size, mtimeNs, ino, ctimeNs } = stat;
  const meta = { attempt, epoch: n, size, mtimeNs, ino, ctimeNs };
  const body = handleBody(handle, size, head);
  for (let tryNumber = 0; ; tryNumber++) {
    try {
      // Not job.signal: a stop lets the upload in flight finish within shutdown.graceMs.
      return await job.target.put(key, body, meta, { signal: job.uploadSignal, guard });
    } catch (err) {
      const retryable = err instanceof TargetError && err.kind === "transient";
      if (!retryable || tryNumber >= uploadRetries || job.signal?.aborted) throw err;
      job.log.warn(`Retrying upload of "${handle.path}" after: ${(err as Error).message}`);
      await delay(uploadRetryBaseMs * 2 ** tryNumber, { signal: job.signal });
      // Stopping: no new try; the attempt is interrupted as it is (journalled, epoch held).
      if (job.signal?.aborted) throw err;
    }
  }
}
