/**
 * Step 3 of the per-file protocol: the upload, with the object metadata that names its attempt
 * and version, retried with exponential backoff on transient errors (network, 5xx, throttling).
 */
import type { FileStat } from "../../runtime/types.ts";
import { type StoredObject, TargetError } from "../targets/target.ts";
import { pathBody } from "../targets/upload_body.ts";
import { delay } from "../util/async.ts";
import type { FileJob } from "./file_job.ts";

/** Uploads `path` (of version `stat`) to `key` for `attempt`. Throws the last TargetError. */
export async function uploadWithRetry(
  job: FileJob,
  upload: { path: string; key: string; stat: FileStat; attempt: string },
): Promise<StoredObject> {
  const { path, key, stat, attempt } = upload;
  const { uploadRetries, uploadRetryBaseMs } = job.config.migrate;
  // Protocol v1 has no epochs: its objects carry epoch 0, as v2 reads v1 objects.
  const meta = { attempt, epoch: 0, size: stat.size, mtimeNs: stat.mtimeNs, ino: stat.ino };
  const body = pathBody(job.rt, path, stat.size);
  for (let tryNumber = 0; ; tryNumber++) {
    try {
      return await job.target.put(key, body, meta, { signal: job.signal });
    } catch (err) {
      const retryable = err instanceof TargetError && err.kind === "transient";
      if (!retryable || tryNumber >= uploadRetries) throw err;
      job.log.warn(`Retrying upload of "${path}" after: ${(err as Error).message}`);
      await delay(uploadRetryBaseMs * 2 ** tryNumber, { signal: job.signal });
      // Stopping: this attempt fails as it is (journalled, lock kept) instead of retrying.
      if (job.signal?.aborted) throw err;
    }
  }
}
