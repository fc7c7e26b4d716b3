/**
 * The S3 target against both stores (s3proxy 2.6, RGW 16.2): bodies, metadata, multipart ETags,
 * versioned and unversioned buckets, listings, a late Complete, per-key errors. Guards, gateways
 * and the probe have their own files.
 */

import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { CHUNK_BYTES } from "../../../jobs/targets/s3_body.ts";
import { TargetError } from "../../../jobs/targets/target.ts";
import { bytesBody } from "../../../jobs/targets/upload_body.ts";
import { randomBytes, waitFor } from "../../helpers.ts";
import { cephService } from "../../services/shared.ts";
import { md5Hex, meta, SMALL_PARTS, STORES, store, targetOn } from "./stores.ts";

afterAll(async () => (await cephService().catch(() => null))?.stop());

const collect = async <T>(items: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

for (const name of STORES) {
  test(`[${name}] readFirst: the first bytes of an object with the description HEAD gives (its whole size), fewer at a short object's end; null when missing`, async () => {
    const { target } = await targetOn(await store(name), { s3: SMALL_PARTS });
    const data = randomBytes(3 * 1024 * 1024 + 5, 41);
    await target.put("rf/big", bytesBody(data), meta("a-1", data.length));
    const big = await target.readFirst("rf/big", null, 1 << 20);
    expect(big?.object).toEqual((await target.head("rf/big")) ?? undefined);
    expect(big?.object.size).toBe(data.length);
    expect(Buffer.from(big?.bytes ?? [])).toEqual(Buffer.from(data.subarray(0, 1 << 20)));
    const small = randomBytes(1000, 42);
    await target.put("rf/small", bytesBody(small), meta("a-2", small.length));
    const short = await target.readFirst("rf/small", null, 1 << 20);
    expect(short?.object).toEqual((await target.head("rf/small")) ?? undefined);
    expect(Buffer.from(short?.bytes ?? [])).toEqual(Buffer.from(small));
    await target.put("rf/empty", bytesBody(new Uint8Array()), meta("a-3", 0));
    const empty = await target.readFirst("rf/empty", null, 1 << 20);
    expect(empty?.object).toEqual((await target.head("rf/empty")) ?? undefined);
    expect(empty?.bytes.length).toBe(0);
    expect(await target.readFirst("rf/missing", null, 1 << 20)).toBeNull();
    target.close();
  });

  test(`[${name}] readRange: If-Match with the object's ETag reads the range, another ETag is refused (412, permanent); a buffer given once free (after the headers) gets the bytes`, async () => {
    const { target } = await targetOn(await store(name), { s3: SMALL_PARTS });
    const data = randomBytes(3 * 1024 * 1024 + 5, 43);
    await target.put("rr/obj", bytesBody(data), meta("a-1", data.length));
    const etag = (await target.head("rr/obj"))?.etag as string;
    const range = (offset: number, length: number) => data.subarray(offset, offset + length);
    const matched = await target.readRange("rr/obj", null, 1 << 20, 1 << 20, { ifMatch: etag });
    expect(Buffer.from(matched ?? [])).toEqual(Buffer.from(range(1 << 20, 1 << 20)));
    const other = "0123456789abcdef0123456789abcdef";
    const refused = await target
      .readRange("rr/obj", null, 1 << 20, 1 << 20, { ifMatch: other })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TargetError);
    expect(refused).toMatchObject({ status: 412, kind: "permanent" });
    // The buffer is asked for only once the response has come: the read waits for it.
    const buffer = new Uint8Array(new SharedArrayBuffer(2 << 20));
    let asked = false;
    let give: (b: Uint8Array) => void = () => {};
    const given = new Promise<Uint8Array>((resolve) => {
      give = resolve;
    });
    const read = target.readRange("rr/obj", null, 2 << 20, 1 << 20, {
      ifMatch: etag,
      into: () => {
        asked = true;
        return given;
      },
    });
    await waitFor(() => asked, "the read asking for its buffer");
    give(buffer);
    const bytes = (await read) as Uint8Array;
    expect(bytes.buffer).toBe(buffer.buffer);
    expect(Buffer.from(bytes)).toEqual(Buffer.from(range(2 << 20, 1 << 20)));
    target.close();
  });

  test(`[${name}] empty, small and multipart uploads are byte-identical, with the store's ETags and our metadata`, async () => {
    const { target } = await targetOn(await store(name), { s3: SMALL_PARTS });
    for (const size of [0, 1000, (1 << 20) + 3]) {
      const data = randomBytes(size, size + 1);
      const put = await target.put(`t/s${size}`, bytesBody(data), meta("a-1", size));
      expect(put).toEqual({
        key: `t/s${size}`,
        versionId: null,
        etag: md5Hex(data),
        size,
        meta: meta("a-1", size),
      });
      expect(Buffer.from((await target.read(`t/s${size}`)) ?? [])).toEqual(Buffer.from(data));
    }
    const big = randomBytes(12 * 1024 * 1024 + 17, 5);
    const put = await target.put("t/multipart", bytesBody(big), meta("a-2", big.length));
    expect(put.meta).toEqual({ ...meta("a-2", big.length), partSize: SMALL_PARTS.partSize });
    const head = await target.head("t/multipart");
    // The ETag is the store's own: "-3" for three parts on both (RGW's Complete gave none).
    expect(put.etag).toMatch(/^[0-9a-f]{32}-3$/);
    expect(head).toEqual({ ...put, versionId: null });
    expect(Buffer.from((await target.read("t/multipart")) ?? [])).toEqual(Buffer.from(big));
    target.close();
  });

  test(`[${name}] checksums: the default sends Content-MD5 and no CRC32 and works; "when_supported" adds CRC32 (RGW accepts it, s3proxy answers 501)`, async () => {
    const s = await store(name);
    for (const checksums of ["when_required", "when_supported"]) {
      const { target } = await targetOn(s, { s3: { checksums } });
      const headers: Record<string, string>[] = [];
      const guard = {
        beforeSend: async (_: string, request: { headers: Readonly<Record<string, string>> }) => {
          headers.push({ ...request.headers });
        },
      };
      await target.open();
      const result = await target
        .put("t/c", bytesBody(new Uint8Array([1, 2, 3])), meta("a-c", 3), { guard })
        .then(
          () => "stored",
          (e: TargetError) => `${e.status} ${e.storeCode}`,
        );
      const part = headers.find((h) => h["content-md5"]) ?? {};
      expect(part["content-md5"]).toBeString();
      if (checksums === "when_required") {
        expect(result).toBe("stored");
        expect(part["x-amz-checksum-crc32"]).toBeUndefined();
        expect(part["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
        expect(await target.read("t/c")).toEqual(new Uint8Array([1, 2, 3]));
      } else {
        expect(part["x-amz-checksum-crc32"]).toBeString();
        expect(result).toBe(name === "rgw" ? "stored" : "501 NotImplemented");
      }
      target.close();
    }
  });

  test(`[${name}] metadata of protocol v1 objects reads as epoch 0 without ctime; foreign objects have none`, async () => {
    const s = await store(name);
    const { target, bucket } = await targetOn(s);
    const client = s.client();
    const v1 = { attempt: "old", size: "1", "mtime-ns": "5", ino: "6" };
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: "t/v1", Body: "x", Metadata: v1 }),
    );
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: "t/foreign", Body: "y" }));
    client.destroy();
    expect((await target.head("t/v1"))?.meta).toEqual({
      attempt: "old",
      epoch: 0,
      size: 1,
      mtimeNs: "5",
      ino: "6",
    });
    expect((await target.head("t/foreign"))?.meta).toBeNull();
    expect(await target.head("t/missing")).toBeNull();
    expect(await target.read("t/missing")).toBeNull();
    target.close();
  });

  test(`[${name}] a source that shrank while it was read fails as that upload's permanent error, storing nothing`, async () => {
    const { target } = await targetOn(await store(name), { s3: SMALL_PARTS });
    const data = randomBytes(1 << 20, 8);
    // The body says 6 MiB (the size locked before the upload); the file now holds 1 MiB.
    const shrunk = { size: 6 << 20, readInto: bytesBody(data).readInto };
    for (const key of ["t/shrunk-single", "t/shrunk-multipart"]) {
      const small = key.endsWith("single");
      const body = small ? { ...shrunk, size: 2 << 20 } : shrunk;
      const error = await target.put(key, body, meta("a-3", body.size)).catch((e) => e);
      expect(error).toBeInstanceOf(TargetError);
      expect(error.kind).toBe("permanent");
      expect(error.message).toContain("the source shrank while it was read");
      expect(await target.head(key)).toBeNull();
    }
    target.close();
  });

  test(`[${name}] a range of 1 MiB and more is streamed from the body in chunks of CHUNK_BYTES, with the body's own MD5; a source that shrinks after it was hashed fails as that upload's permanent error and takes no gateway out`, async () => {
    const { target } = await targetOn(await store(name), { s3: SMALL_PARTS });
    const data = randomBytes((11 << 20) + 123, 12);
    let largestRead = 0;
    let hashedBytes = 0;
    const body = {
      size: data.length,
      async readInto(offset: number, into: Uint8Array) {
        largestRead = Math.max(largestRead, into.length);
        return bytesBody(data).readInto(offset, into);
      },
      async md5(offset: number, length: number) {
        hashedBytes += length;
        return createHash("md5")
          .update(data.subarray(offset, offset + length))
          .digest();
      },
    };
    // 3 parts (5, 5 and 1 MiB + 123 bytes) and one single PUT of 3 MiB.
    const multipart = await target.put("t/streamed", body, meta("a-s", data.length));
    expect(multipart.size).toBe(data.length);
    expect(await target.read("t/streamed")).toEqual(data);
    const small = { ...body, size: 3 << 20 };
    const single = await target.put("t/streamed-single", small, meta("a-t", small.size));
    expect(single.etag).toBe(md5Hex(data.subarray(0, 3 << 20)));
    expect(largestRead).toBe(CHUNK_BYTES);
    expect(hashedBytes).toBe(data.length + (3 << 20));

    // It hashes 6 MiB, then finds 2 MiB when it reads them to send.
    const shrinking = {
      ...body,
      size: 6 << 20,
      readInto: bytesBody(data.subarray(0, 2 << 20)).readInto,
    };
    const error = await target
      .put("t/shrinks", shrinking, meta("a-u", shrinking.size))
      .catch((e) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain("the source shrank while it was read");
    expect(await target.head("t/shrinks")).toBeNull();
    expect(target.gateways().every((g) => g.up)).toBe(true);
    target.close();
  });

  test(`[${name}] a key over 1,024 bytes is refused before it is sent (permanent, KeyTooLongError); a 300-byte path component is s3proxy's 500 (transient), RGW stores it; probe() passes`, async () => {
    const { target } = await targetOn(await store(name));
    // Over S3's 1,024 bytes: AWS and RGW answer 400 KeyTooLongError, s3proxy's filesystem
    // backend a 500; refused here for every store, before a request is made.
    const long = `t/${"k".repeat(1100)}`;
    const error = await target
      .put(long, bytesBody(new Uint8Array([1])), meta("a-4", 1))
      .catch((e) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect({ kind: error.kind, status: error.status, code: error.storeCode }).toEqual({
      kind: "permanent",
      status: undefined,
      code: "KeyTooLongError",
    });
    // Under 1,024 bytes, but one path component longer than a file name may be: s3proxy's
    // filesystem backend cannot create it (ENAMETOOLONG surfaces as a 500); RGW has no such limit.
    const component = `t/${"k".repeat(300)}`;
    const put = await target
      .put(component, bytesBody(new Uint8Array([1])), meta("a-4", 1))
      .catch((e) => e);
    if (name === "rgw") expect(put.key).toBe(component);
    else expect({ kind: put.kind, status: put.status }).toEqual({ kind: "transient", status: 500 });
    // Neither is target-wide: the probe says the target is fine.
    await target.probe();
    target.close();
  });

  test(`[${name}] an unversioned bucket: fence "unversioned", delete by key only, versionsOf is the current object`, async () => {
    const { target } = await targetOn(await store(name));
    expect(() => target.fence).toThrow("fence read before open()");
    await target.open();
    expect(target.fence).toBe("unversioned");
    await target.put("t/k", bytesBody(new Uint8Array([1])), meta("a-5", 1));
    const second = await target.put("t/k", bytesBody(new Uint8Array([2])), meta("a-6", 1));
    expect(await collect(target.versionsOf("t/k"))).toEqual([second]);
    expect(await collect(target.versionsOf("t/none"))).toEqual([]);
    await expect(target.delete("t/k", "some-version")).rejects.toThrow("needs no version id");
    await target.delete("t/k", null);
    await target.delete("t/k", null); // missing is not an error
    expect(await target.head("t/k")).toBeNull();
    target.close();
  });

  test(`[${name}] list pages through every object under the prefix`, async () => {
    const { target } = await targetOn(await store(name), { s3: { listPageSize: 2 } });
    for (let i = 0; i < 5; i++)
      await target.put(`t/l${i}`, bytesBody(new Uint8Array([i])), meta(`a-${i}`, 1));
    const listed = await collect(target.list());
    expect(listed).toEqual([0, 1, 2, 3, 4].map((i) => ({ key: `t/l${i}`, versionId: null })));
    target.close();
  });

  test(`[${name}] abortUpload fences a late Complete: no object results (RGW 500, s3proxy 404)`, async () => {
    const s = await store(name);
    const { target } = await targetOn(s, { s3: { unversionedFence: "multipart" } });
    let aborted: boolean[] = [];
    const guard = {
      uploadId: "",
      async onUploadId(id: string) {
        guard.uploadId = id;
      },
      // A revoker aborts the recorded id after our check and before the Complete lands.
      async beforeSend(op: string) {
        if (op === "CompleteMultipartUpload")
          aborted = [
            await target.abortUpload("t/late", guard.uploadId),
            await target.abortUpload("t/late", guard.uploadId),
          ];
      },
    };
    // Unversioned, guarded, the multipart fence: multipart even for 3 bytes.
    const error = await target
      .put("t/late", bytesBody(new Uint8Array([1, 2, 3])), meta("a-7", 3), { guard })
      .catch((e) => e);
    expect(aborted).toEqual([true, false]);
    expect(error).toBeInstanceOf(TargetError);
    expect(error.status).toBe(name === "rgw" ? 500 : 404);
    expect(await target.head("t/late")).toBeNull();
    target.close();
  });
}

test("[rgw] CompleteMultipartUpload answers an empty ETag: the target takes the one HEAD gives", async () => {
  const s = await store("rgw");
  const { target, bucket } = await targetOn(s, { s3: SMALL_PARTS });
  const client = s.client();
  // What the store does: an empty ETag in the Complete response...
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: "t/raw" }),
  );
  const part = await client.send(
    new UploadPartCommand({ Bucket: bucket, Key: "t/raw", UploadId, PartNumber: 1, Body: "abc" }),
  );
  const done = await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: "t/raw",
      UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
    }),
  );
  client.destroy();
  expect(done.ETag ?? "").toBe("");
  // ...and what the target records: the HEAD's, never "" and never computed.
  const data = randomBytes(6 * 1024 * 1024, 11);
  const put = await target.put("t/mp", bytesBody(data), meta("a-8", data.length));
  expect(put.etag).toMatch(/^[0-9a-f]{32}-2$/);
  expect((await target.head("t/mp"))?.etag).toBe(put.etag);
  target.close();
});

test("[rgw] a versioned bucket: every put names its version; head, read and delete act on exactly one", async () => {
  const { target } = await targetOn(await store("rgw"), { versioned: true, s3: SMALL_PARTS });
  await target.open();
  expect(target.fence).toBe("versioned");
  const first = await target.put("t/k", bytesBody(new Uint8Array([1])), meta("a-1", 1));
  const second = await target.put("t/k", bytesBody(new Uint8Array([2])), meta("a-2", 1));
  expect(first.versionId).toBeString();
  expect(second.versionId).toBeString();
  expect(first.versionId).not.toBe(second.versionId);
  expect(await target.head("t/k", first.versionId)).toEqual(first);
  expect(await target.head("t/k")).toEqual(second);
  expect(await target.read("t/k", first.versionId)).toEqual(new Uint8Array([1]));
  await expect(target.delete("t/k", null)).rejects.toThrow("needs a version id");
  await target.delete("t/k", first.versionId);
  await target.delete("t/k", first.versionId); // missing is not an error
  expect(await target.head("t/k", first.versionId)).toBeNull();
  expect(await target.head("t/k")).toEqual(second);
  // Multipart too: the version id comes from Complete, the ETag from a HEAD of that version.
  const data = randomBytes(6 * 1024 * 1024, 12);
  const third = await target.put("t/k", bytesBody(data), meta("a-3", data.length));
  expect(third.versionId).toBeString();
  expect(third.etag).toMatch(/^[0-9a-f]{32}-2$/);
  expect(await target.head("t/k", third.versionId)).toEqual(third);
  expect(await target.head("t/k", second.versionId)).toEqual(second);
  target.close();
});

test("[rgw] versionsOf pages through every version of exactly the key, newest first, skipping delete markers", async () => {
  const s = await store("rgw");
  const { target, bucket } = await targetOn(s, { versioned: true, s3: { listPageSize: 2 } });
  const puts = [];
  for (let i = 0; i < 5; i++)
    puts.push(await target.put("t/k", bytesBody(new Uint8Array([i])), meta(`a-${i}`, 1)));
  await target.put("t/k.1", bytesBody(new Uint8Array([9])), meta("other", 1));
  await target.put("t/k/x", bytesBody(new Uint8Array([9])), meta("other", 1));
  const client = s.client();
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "t/k" })); // a delete marker
  client.destroy();
  const versions = [];
  for await (const v of target.versionsOf("t/k")) versions.push(v);
  expect(versions).toEqual(puts.reverse());
  const all = [];
  for await (const v of target.list()) all.push(v);
  expect(all.length).toBe(7);
  expect(all.filter((v) => v.key === "t/k").map((v) => v.versionId)).toEqual(
    versions.map((v) => v.versionId),
  );
  target.close();
});
