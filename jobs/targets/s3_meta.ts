/**
 * ObjectMeta as S3 user metadata (x-amz-meta-*; lower-case names, string values). Objects of
 * protocol v1 have no epoch (read as 0) and no ctime; anything unreadable is null (not ours).
 */
import type { ObjectMeta } from "./target.ts";

export function metaToHeaders(meta: ObjectMeta): Record<string, string> {
  const headers: Record<string, string> = {
    attempt: meta.attempt,
    epoch: String(meta.epoch),
    size: String(meta.size),
    "mtime-ns": meta.mtimeNs,
    ino: meta.ino,
  };
  if (meta.ctimeNs !== undefined) headers["ctime-ns"] = meta.ctimeNs;
  if (meta.partSize !== undefined) headers["part-size"] = String(meta.partSize);
  return headers;
}

const count = (text: string | undefined) => {
  const n = Number(text);
  return text !== undefined && text !== "" && Number.isSafeInteger(n) && n >= 0 ? n : null;
};

export function metaFromHeaders(headers: Record<string, string> | undefined): ObjectMeta | null {
  if (!headers?.attempt || !headers["mtime-ns"] || !headers.ino) return null;
  const size = count(headers.size);
  const epoch = headers.epoch === undefined ? 0 : count(headers.epoch);
  const partSize = headers["part-size"] === undefined ? undefined : count(headers["part-size"]);
  if (size === null || epoch === null || partSize === null) return null;
  const meta: ObjectMeta = {
    attempt: headers.attempt,
    epoch,
    size,
    mtimeNs: headers["mtime-ns"],
    ino: headers.ino,
  };
  if (headers["ctime-ns"] !== undefined) meta.ctimeNs = headers["ctime-ns"];
  if (partSize !== undefined) meta.partSize = partSize;
  return meta;
}
