/**
 * The `file:///dir` target: objects are files under a local directory, written to a temporary
 * name and renamed into place (so a reader never sees half an object). The object's metadata
 * lives in its `user.tiermv.object` xattr, the file-target twin of S3 user metadata.
 */

import * as v from "valibot";
import { errorCode } from "../../runtime/errors.ts";
import type { Runtime } from "../../runtime/types.ts";
import { newAttemptId } from "../util/ids.ts";
import { parseJsonWith, StoredFileError } from "../util/stored_file.ts";
import { joinKey, type ObjectInfo, type ObjectMeta, type Target, TargetError } from "./target.ts";

/** A directory we may not write, or that is not one: the configuration is wrong. */
const CONFIG_CODES = new Set(["EACCES", "EROFS", "ENOTDIR"]);
const META_ATTR = "user.tiermv.object";
const TMP_DIR = ".tiermv-tmp";

/** The object's metadata record in its xattr: the S3 user metadata of this target, and its ETag. */
const ObjectRecordSchema = v.object({
  v: v.literal(1),
  attempt: v.string(),
  size: v.number(),
  mtimeNs: v.string(),
  ino: v.string(),
  etag: v.string(),
});
type ObjectRecord = v.InferOutput<typeof ObjectRecordSchema>;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function createFileTarget(rt: Runtime, url: string): Target {
  const dir = decodeURIComponent(url.slice("file://".length)).replace(/\/+$/, "");
  const tmpDir = `${dir}/${TMP_DIR}`;
  const pathOf = (key: string) => `${dir}/${key}`;

  async function guard<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof TargetError) throw err;
      const kind = CONFIG_CODES.has(errorCode(err) ?? "") ? "config" : "transient";
      throw new TargetError(kind, { op, key, detail: (err as Error).message, cause: err });
    }
  }

  async function* walk(path: string, rel: string): AsyncIterable<string> {
    for (const entry of await rt.fs.readDir(path)) {
      if (rel === "" && entry.name === TMP_DIR) continue;
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.kind === "dir") yield* walk(`${path}/${entry.name}`, childRel);
      else if (entry.kind === "file") yield childRel;
    }
  }

  return {
    url,
    keyFor: (relativePath) => joinKey("", relativePath),
    put(key, source, meta: ObjectMeta) {
      return guard("upload", key, async () => {
        const finalPath = pathOf(key);
        const tmpPath = `${tmpDir}/${meta.attempt}-${newAttemptId()}`;
        await rt.fs.mkdirp(tmpDir);
        await rt.fs.mkdirp(finalPath.slice(0, finalPath.lastIndexOf("/")));
        try {
          await rt.fs.copyFile(source.path, tmpPath);
          const etag = await rt.md5File(tmpPath);
          const record = JSON.stringify({ v: 1, ...meta, etag } satisfies ObjectRecord);
          await rt.xattr.set(tmpPath, META_ATTR, encoder.encode(record), "any");
          await rt.fs.rename(tmpPath, finalPath);
          return { etag };
        } finally {
          await rt.fs.remove(tmpPath);
        }
      });
    },
    head(key) {
      return guard("read metadata of", key, async (): Promise<ObjectInfo | null> => {
        const path = pathOf(key);
        if (!(await rt.fs.exists(path))) return null;
        const stat = await rt.fs.stat(path);
        const raw = await rt.xattr.get(path, META_ATTR);
        if (raw === null) return { size: stat.size, etag: await rt.md5File(path), meta: null };
        const record = parseJsonWith(ObjectRecordSchema, decoder.decode(raw));
        if (!record.ok) throw new StoredFileError(`${path} (${META_ATTR})`, record.why);
        const { etag, attempt, size, mtimeNs, ino } = record.value;
        return { size: stat.size, etag, meta: { attempt, size, mtimeNs, ino } };
      });
    },
    // Writes go to a temporary name and are renamed: nothing incomplete stays under a key.
    abortIncompleteUploads: async () => 0,
    delete(key) {
      return guard("delete", key, () => rt.fs.remove(pathOf(key)));
    },
    get(key) {
      return guard("read", key, async () => {
        const path = pathOf(key);
        if (!(await rt.fs.exists(path))) return null;
        const stat = await rt.fs.stat(path);
        return rt.fs.readRange(path, 0, stat.size);
      });
    },
    async *list() {
      if (await rt.fs.exists(dir)) yield* walk(dir, "");
    },
    close() {},
  };
}
