/**
 * The multipart upload ids of a node's attempts, `uploads/<attempt>` (one JSON line per id),
 * recorded durably before the upload's first part is signed (WriteGuard.onUploadId). Rollback
 * and recover abort exactly these ids, never "every incomplete upload of the key" (issue 15.4).
 * A revoker decides the epoch first and reads this file after: either it sees an id and aborts
 * it, or the attempt's check, which follows its record, sees the revocation.
 */
import * as v from "valibot";
import { isNotFound } from "../../runtime/errors.ts";
import type { Runtime } from "../../runtime/types.ts";
import { asciiJson } from "./journal.ts";
import type { NodeDirs } from "./layout.ts";

const UploadSchema = v.object({
  v: v.literal(1),
  attempt: v.string(),
  uploadId: v.string(),
  key: v.string(),
  target: v.string(),
  epoch: v.number(),
  at: v.string(),
});

/** Attempt ids are hex; anything else must not become a path. */
const fileOf = (dirs: NodeDirs, attempt: string) =>
  `${dirs.uploads}/${attempt.replace(/[^A-Za-z0-9_-]/g, "_")}`;

/** Records one upload id of `attempt` (fsynced, and its directory entry too). */
export async function recordUploadId(
  rt: Runtime,
  dirs: NodeDirs,
  upload: { attempt: string; uploadId: string; key: string; target: string; epoch: number },
): Promise<void> {
  await rt.fs.mkdirp(dirs.uploads);
  const line = asciiJson({ v: 1, ...upload, at: new Date().toISOString() });
  await rt.fs.appendDurable(fileOf(dirs, upload.attempt), `${line}\n`);
  await rt.fs.syncDir(dirs.uploads);
}

/** Every upload id recorded for `attempt` (a torn last line is skipped). */
export async function uploadIdsOf(rt: Runtime, dirs: NodeDirs, attempt: string): Promise<string[]> {
  if (attempt === "") return [];
  const ids: string[] = [];
  try {
    for await (const line of rt.fs.readLines(fileOf(dirs, attempt))) {
      try {
        const parsed = v.safeParse(UploadSchema, JSON.parse(line));
        if (parsed.success) ids.push(parsed.output.uploadId);
      } catch {
        // a torn line: the crash came before the id was recorded, nothing was sent with it
      }
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return ids;
}

/** Forgets the attempt's upload ids once its epoch is decided and nothing is left to abort. */
export async function forgetUploads(rt: Runtime, dirs: NodeDirs, attempt: string): Promise<void> {
  if (attempt !== "") await rt.fs.remove(fileOf(dirs, attempt));
}
