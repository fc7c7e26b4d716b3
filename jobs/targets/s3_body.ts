/**
 * Upload bodies for S3: a byte range of a file, with its MD5 (every PUT and part carries
 * Content-MD5, which the store checks). From 1 MiB up, bodies are file-backed where the runtime
 * can send them so (Bun), never copied into the heap; the rest are read into buffers from a
 * budget (see buffer_budget.ts), always given back.
 */
import type { Runtime } from "../../runtime/types.ts";
import { BufferBudget } from "./buffer_budget.ts";
import { TargetError } from "./target.ts";

/** Bodies from this size up are sent file-backed where the runtime can. */
const FILE_BODY_MIN = 1 << 20;

export type Send<T> = (body: Uint8Array | Blob, md5: Uint8Array, length: number) => Promise<T>;

export function base64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

export class BodySource {
  private readonly budget: BufferBudget;

  constructor(
    private readonly rt: Runtime,
    maxBufferBytes: number,
  ) {
    this.budget = new BufferBudget(maxBufferBytes);
  }

  /**
   * Runs `send` with a body for `range.size` bytes of `range.path` from `range.offset`, its MD5
   * and its length (less than `size` when the file shrank before it was read into memory).
   */
  async withBody<T>(
    key: string,
    range: { path: string; offset: number; size: number },
    send: Send<T>,
  ): Promise<T> {
    const { rt } = this;
    const { path, offset, size } = range;
    if (rt.fileBody && size >= FILE_BODY_MIN) {
      const md5 = await rt.md5Range(path, offset, size);
      try {
        return await send(rt.fileBody(path, offset, size), md5, size);
      } catch (err) {
        throw await this.explainShrunk(err, key, path, offset + size);
      }
    }
    const body = await this.budget.acquire(size);
    try {
      const got = await rt.fs.readInto(path, offset, body);
      const sent = got === size ? body : body.subarray(0, got);
      // A file that shrank: send what is there; the verify step then sees the change.
      return await send(sent, rt.md5(sent), sent.length);
    } finally {
      this.budget.release(body);
    }
  }

  /**
   * A file-backed body is read while it is sent: a file that shrank or vanished since its MD5
   * makes the request fail in ways that look like other faults (a 403 for a short body). Say
   * what happened instead, so it is journalled as a failure of this file, not of the target.
   */
  private async explainShrunk(err: unknown, key: string, path: string, end: number) {
    const now = await this.rt.fs.stat(path).catch(() => null);
    if (now && now.size >= end) return err;
    const what = now ? `shrank to ${now.size} bytes` : "vanished";
    return new TargetError("permanent", {
      op: "upload",
      key: key,
      detail: `"${path}" ${what} while it was sent`,
      cause: err,
    });
  }
}
