/**
 * HEAD and GET signed without the SDK (jobs/targets/s3_signed_reads.ts) against both stores:
 * keys of every awkward character read back as the SDK wrote them, the description equals the
 * SDK's own HeadObject, and failures keep the SDK's classification (a wrong secret is config, a
 * store that never answers is a transient timeout).
 */

import { afterAll, expect, test } from "bun:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { createS3Target } from "../../../jobs/targets/s3.ts";
import { createClient } from "../../../jobs/targets/s3_client.ts";
import { errorKind, httpStatus } from "../../../jobs/targets/s3_errors.ts";
import { signedReadsOf } from "../../../jobs/targets/s3_signed_reads.ts";
import { TargetError } from "../../../jobs/targets/target.ts";
import { bytesBody } from "../../../jobs/targets/upload_body.ts";
import { randomBytes } from "../../helpers.ts";
import { cephService } from "../../services/shared.ts";
import { configFor, meta, rt, STORES, store, targetOn } from "./stores.ts";

afterAll(async () => (await cephService().catch(() => null))?.stop());

/** Characters S3 signs %-encoded (or must not be taken as URL syntax), one key each. */
const KEYS = [
  "sp ace/and  two",
  "plus+sign",
  "pct%25and%",
  "uni-é漢字-😀",
  "rfc3986 !'()*~._-",
  "eq=amp&semi;at@colon:comma,dollar$",
  "query?hash#bracket[]{}",
  "deep/er/path/x",
];

for (const name of STORES) {
  test(`[${name}] keys of awkward characters: head, read, readRange and readFirst give what the SDK wrote and what the SDK's HeadObject describes`, async () => {
    const s = await store(name);
    const { target, bucket } = await targetOn(s);
    const sdk = s.client();
    try {
      for (const [i, relative] of KEYS.entries()) {
        const key = `t/${relative}`;
        const data = randomBytes(1000 + i, 60 + i);
        await target.put(key, bytesBody(data), meta(`a-${i}`, data.length));
        const head = await target.head(key);
        const theirs = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        expect({ key, etag: head?.etag, size: head?.size, meta: head?.meta }).toEqual({
          key,
          etag: (theirs.ETag ?? "").replaceAll('"', ""),
          size: theirs.ContentLength,
          meta: { ...meta(`a-${i}`, data.length) },
        });
        expect(Buffer.from((await target.read(key)) ?? [])).toEqual(Buffer.from(data));
        const range = await target.readRange(key, null, 10, 20, { ifMatch: head?.etag });
        expect(Buffer.from(range ?? [])).toEqual(Buffer.from(data.subarray(10, 30)));
        const first = await target.readFirst(key, null, 100);
        expect(first?.object).toEqual(head ?? undefined);
        expect(Buffer.from(first?.bytes ?? [])).toEqual(Buffer.from(data.subarray(0, 100)));
      }
    } finally {
      sdk.destroy();
      target.close();
    }
  });

  test(`[${name}] a wrong secret: HEAD and GET fail as config errors (403), with the store's code where it sent one`, async () => {
    const s = await store(name);
    const bucket = await s.bucket();
    const url = `s3://${bucket}/t`;
    const credentials = { accessKeyId: s.credentials.accessKeyId, secretAccessKey: "wrong" };
    const target = createS3Target(rt, url, configFor(s, url), { credentials });
    for (const read of [() => target.head("t/x"), () => target.read("t/x")]) {
      const error = await read().catch((e) => e);
      expect(error).toBeInstanceOf(TargetError);
      expect({ kind: error.kind, status: error.status }).toEqual({ kind: "config", status: 403 });
    }
    const get = await target.read("t/x").catch((e) => e);
    expect(get.storeCode).toBe("SignatureDoesNotMatch");
    target.close();
  });
}

test("a store that never answers: HEAD and GET are cut at s3.requestTimeoutMs, transient, named TimeoutError", async () => {
  const silent = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { data() {} },
  });
  const s = await store("s3proxy");
  const url = "s3://bucket/t";
  const config = configFor(s, url, {
    endpoints: [`http://127.0.0.1:${silent.port}`],
    s3: { requestTimeoutMs: 300 },
  });
  const target = createS3Target(rt, url, config, { credentials: s.credentials });
  try {
    for (const read of [() => target.head("t/x"), () => target.readRange("t/x", null, 0, 10)]) {
      const started = performance.now();
      const error = await read().catch((e) => e);
      expect(error).toBeInstanceOf(TargetError);
      expect({ kind: error.kind, code: error.storeCode }).toEqual({
        kind: "transient",
        code: "TimeoutError",
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    }
  } finally {
    target.close();
    silent.stop(true);
  }
});

test("[s3proxy] reads are signed at the SDK client's clock offset (what it learns from the store's Date headers): an hour off is refused as skewed, corrected it is answered", async () => {
  const s = await store("s3proxy");
  const bucket = await s.bucket();
  const url = `s3://${bucket}/t`;
  const client = createClient(configFor(s, url).s3, s.endpoint, s.credentials);
  const head = () =>
    signedReadsOf(client)
      .send({ method: "HEAD", bucket, key: "t/none" })
      .catch((e) => e);
  try {
    client.config.systemClockOffset = 3_600_000;
    const skewed = await head();
    expect({ status: httpStatus(skewed), kind: errorKind(skewed) }).toEqual({
      status: 403,
      kind: "config",
    });
    client.config.systemClockOffset = 0;
    expect(httpStatus(await head())).toBe(404);
  } finally {
    client.destroy();
  }
});
