/**
 * The `file:///dir` target: objects are files under a local directory, written to a temporary
 * name and renamed into place (a reader never sees half an object). The object's metadata lives
 * in its `user.tiermv.object` xattr, the twin of S3 user metadata. Unversioned: no version ids,
 * no multipart (nothing to abort), a write guard runs before the rename and before a delete.
 * The body is read whole into memory before it is written (the runtime has no binary streaming
 * writer yet): fine for tests and small local setups, not for files larger than memory.
 */
import * as v from "valibot";
import { errorCode, MountUnavailableError } from "../../runtime/errors.ts";
import type { FileHandle, Runtime } from "../../runtime/types.ts";
import { newAttemptId } from "../util/ids.ts";
import { parseJsonWith, StoredFileError } from "../util/stored_file.ts";
import { GuardRefusal, TargetError, TargetUnavailableError } from "./errors.ts";
import {
  joinKey,
  type ObjectMeta,
  type StoredObject,
  type Target,
  type WriteGuard,
} from "./target.ts";

/** A directory we may not write, or that is not one: the configuration is wrong. */
const CONFIG_CODES = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR"]);
const META_ATTR = "user.tiermv.object";
const TMP_DIR = ".tiermv-tmp";

/** The record in the xattr; v1 (protocol v1) had no epoch and no ctime. */
const RecordSchema = v.object({
  v: v.union([v.literal(1), v.literal(2)]),
  attempt: v.string(),
  epoch: v.optional(v.number(), 0),
  size: v.number(),
  mtimeNs: v.string(),
  ino: v.string(),
  ctimeNs: v.optional(v.string()),
  etag: v.string(),
  /**
   * The object file's own mtime when it was written: another one means its bytes were written
   * in place since (by something else), so `etag` no longer describes them.
   */
  objectMtimeNs: v.optional(v.string()),
});

/** The recorded ETag while it still describes the object's bytes (their mtime unchanged). */
function recordedEtag(record: v.InferOutput<typeof RecordSchema>, mtimeNs: string): string | null {
  return record.objectMtimeNs === undefined || record.objectMtimeNs === mtimeNs
    ? record.etag
    : null;
}
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function createFileTarget(rt: Runtime, url: string): Target {
  const dir = decodeURIComponent(url.slice("file://".length)).replace(/\/+$/, "");
  const tmpDir = `${dir}/${TMP_DIR}`;
  const pathOf = (key: string) => `${dir}/${key}`;
  const unversioned = (key: string, versionId: string | null | undefined) => {
    if (versionId != null)
      throw new Error(`Target ${url} is unversioned: "${key}" has no version ${versionId}`);
  };

  async function guarded<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof GuardRefusal) throw err.refusal;
      if (err instanceof TargetError || !errorCode(err)) throw err;
      const kind = CONFIG_CODES.has(errorCode(err) ?? "") ? "config" : "transient";
      const storeCode = errorCode(err);
      throw new TargetError(kind, {
        op,
        key,
        detail: (err as Error).message,
        cause: err,
        storeCode,
      });
    }
  }

  /** The guard, then the write (a rename or a remove); a write stuck in a hung mount is unanswered. */
  async function guardedWrite(
    guard: WriteGuard | undefined,
    op: "PutObject" | "DeleteObject",
    path: string,
    write: () => Promise<void>,
  ) {
    const request = {
      method: op === "PutObject" ? "PUT" : "DELETE",
      endpoint: url,
      path,
      headers: {},
    };
    try {
      await guard?.beforeSend(op, request);
    } catch (err) {
      throw new GuardRefusal(err);
    }
    try {
      await write();
      guard?.afterSend?.(op, true);
    } catch (err) {
      guard?.afterSend?.(op, !(err instanceof MountUnavailableError));
      throw err;
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

  const hex = (digest: Uint8Array) =>
    [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");

  /**
   * A range of the object only while its ETag is `ifMatch` (restore's chunks: an object renamed
   * over the key mid-restore is refused, as S3 answers 412). One descriptor for the check and
   * the read, so the bytes are those of the object checked. Null: no object.
   */
  async function readIfMatch(key: string, offset: number, length: number, ifMatch: string) {
    const path = pathOf(key);
    let handle: FileHandle;
    try {
      handle = await rt.openFile(path, { mode: "read" });
    } catch (err) {
      // No object there, as exists() answers: nothing at the path, or a file where a directory is.
      if (errorCode(err) === "ENOENT" || errorCode(err) === "ENOTDIR") return null;
      throw err;
    }
    try {
      const raw = await handle.getXattr(META_ATTR);
      const record = raw === null ? null : parseJsonWith(RecordSchema, decoder.decode(raw));
      if (record && !record.ok) throw new StoredFileError(`${path} (${META_ATTR})`, record.why);
      const stat = await handle.stat();
      const etag =
        (record && recordedEtag(record.value, stat.mtimeNs)) ?? hex(await handle.md5(0, stat.size));
      if (etag !== ifMatch.replaceAll('"', ""))
        throw new TargetError("permanent", {
          op: "read",
          key,
          detail: `its ETag is ${etag}, not ${ifMatch} (If-Match)`,
          status: 412,
        });
      const bytes = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = await handle.readInto(offset + got, bytes.subarray(got));
        if (n <= 0) break;
        got += n;
      }
      return bytes.subarray(0, got);
    } finally {
      await handle.close();
    }
  }

  const target: Target = {
    url,
    fence: "unversioned",
    open: async () => {},
    keyFor: (relativePath) => joinKey("", relativePath),
    put(key, body, meta, options = {}) {
      return guarded("upload", key, async (): Promise<StoredObject> => {
        const bytes = new Uint8Array(body.size);
        let got = 0;
        while (got < body.size) {
          const n = await body.readInto(got, bytes.subarray(got));
          if (n <= 0) break;
          got += n;
        }
        if (got < body.size)
          throw new TargetError("permanent", {
            op: "upload",
            key,
            detail: `the source shrank while it was read (${got} of ${body.size} bytes there)`,
          });
        const finalPath = pathOf(key);
        const tmpPath = `${tmpDir}/${meta.attempt}-${newAttemptId()}`;
        await rt.fs.mkdirp(tmpDir);
        await rt.fs.mkdirp(finalPath.slice(0, finalPath.lastIndexOf("/")));
        try {
          await rt.fs.writeDurable(tmpPath, bytes);
          const etag = hex(rt.md5(bytes));
          // Neither the xattr nor the rename below changes the mtime: only a write of bytes.
          const objectMtimeNs = (await rt.fs.stat(tmpPath)).mtimeNs;
          const record = JSON.stringify({ v: 2, ...meta, etag, objectMtimeNs });
          await rt.xattr.set(tmpPath, META_ATTR, encoder.encode(record), "any");
          await guardedWrite(options.guard, "PutObject", finalPath, () =>
            rt.fs.rename(tmpPath, finalPath),
          );
          return { key, versionId: null, etag, size: body.size, meta: { ...meta } };
        } finally {
          await rt.fs.remove(tmpPath);
        }
      });
    },
    async head(key, versionId) {
      unversioned(key, versionId);
      return await guarded("read metadata of", key, async (): Promise<StoredObject | null> => {
        const path = pathOf(key);
        if (!(await rt.fs.exists(path))) return null;
        const stat = await rt.fs.stat(path);
        const raw = await rt.xattr.get(path, META_ATTR);
        if (raw === null) {
          const etag = await rt.md5File(path);
          return { key, versionId: null, size: stat.size, etag, meta: null };
        }
        const record = parseJsonWith(RecordSchema, decoder.decode(raw));
        if (!record.ok) throw new StoredFileError(`${path} (${META_ATTR})`, record.why);
        const { attempt, epoch, size, mtimeNs, ino, ctimeNs } = record.value;
        const meta: ObjectMeta = { attempt, epoch, size, mtimeNs, ino };
        if (ctimeNs !== undefined) meta.ctimeNs = ctimeNs;
        // Bytes written in place since: their own MD5, as S3 would answer for a new object.
        const etag = recordedEtag(record.value, stat.mtimeNs) ?? (await rt.md5File(path));
        return { key, versionId: null, size: stat.size, etag, meta };
      });
    },
    async *versionsOf(key) {
      const current = await target.head(key);
      if (current) yield current;
    },
    async delete(key, versionId, options = {}) {
      unversioned(key, versionId);
      return await guarded("delete", key, async () => {
        await guardedWrite(options.guard, "DeleteObject", pathOf(key), () =>
          rt.fs.remove(pathOf(key)),
        );
      });
    },
    // Writes go to a temporary name and are renamed: there are no uploads to abort.
    abortUpload: async () => false,
    async read(key, versionId) {
      unversioned(key, versionId);
      return await guarded("read", key, async () => {
        const path = pathOf(key);
        if (!(await rt.fs.exists(path))) return null;
        const stat = await rt.fs.stat(path);
        return rt.fs.readRange(path, 0, stat.size);
      });
    },
    // A directory has no archive classes: nothing to restore first.
    requestRestore: async () => false,
    async readRange(key, versionId, offset, length, options = {}) {
      unversioned(key, versionId);
      return await guarded("read", key, async () => {
        const path = pathOf(key);
        if (options.ifMatch !== undefined)
          return await readIfMatch(key, offset, length, options.ifMatch);
        if (!(await rt.fs.exists(path))) return null;
        return rt.fs.readRange(path, offset, length);
      });
    },
    async readFirst(key, versionId, length) {
      const object = await target.head(key, versionId);
      if (!object) return null;
      const bytes = await target.readRange(key, versionId, 0, length);
      return bytes && { object, bytes };
    },
    async *list() {
      if (await rt.fs.exists(dir))
        for await (const key of walk(dir, "")) yield { key, versionId: null };
    },
    async probe() {
      const path = `${tmpDir}/probe-${newAttemptId()}`;
      try {
        await rt.fs.mkdirp(tmpDir);
        await rt.fs.writeDurable(path, "probe");
        await rt.fs.remove(path);
      } catch (err) {
        const reason = `cannot write "${path}": ${(err as Error).message}`;
        const check = "that the directory exists, is mounted and writable by this user";
        throw new TargetUnavailableError(url, { endpoints: [], reason, check }, { cause: err });
      }
    },
    gateways: () => [],
    close() {},
  };
  return target;
}
