/**
 * The write guard on both stores: it runs after signing and before sending, for every write and
 * every part; a guard that throws sends nothing; onUploadId comes before the first part; with
 * `s3.unversionedFence: "multipart"` an unversioned bucket turns a guarded put into multipart
 * (the default window fence keeps one PUT); afterSend tells answered writes from unanswered ones.
 */
import { afterAll, expect, test } from "bun:test";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import type { OutgoingRequest, WriteGuard, WriteOp } from "../../../jobs/targets/target.ts";
import { bytesBody } from "../../../jobs/targets/upload_body.ts";
import { randomBytes } from "../../helpers.ts";
import { startFaultProxy } from "../../services/fault_proxy.ts";
import { cephService } from "../../services/shared.ts";
import { meta, SMALL_PARTS, STORES, store, targetOn } from "./stores.ts";

afterAll(async () => (await cephService().catch(() => null))?.stop());

/** Records every call; throws `refusal` at the `throwAt`-th write when given. */
function recorder(options: { throwAt?: number; refusal?: Error } = {}) {
  const seen: { op: WriteOp | "onUploadId"; request?: OutgoingRequest }[] = [];
  const answers: { op: WriteOp; answered: boolean }[] = [];
  const guard: WriteGuard = {
    afterSend(op, answered) {
      answers.push({ op, answered });
    },
    async beforeSend(op, request) {
      seen.push({ op, request });
      if (seen.filter((s) => s.op !== "onUploadId").length === options.throwAt)
        throw options.refusal ?? new Error("epoch decided");
    },
    async onUploadId() {
      seen.push({ op: "onUploadId" });
    },
  };
  return { guard, seen, answers, ops: () => seen.map((s) => s.op) };
}

for (const name of STORES) {
  test(`[${name}] the guard runs on every write after signing (Authorization, Content-MD5, unsigned payload) and before it is sent`, async () => {
    const s = await store(name);
    const { target } = await targetOn(s, { s3: SMALL_PARTS });
    await target.open();
    const r = recorder();
    const data = randomBytes(11 * 1024 * 1024, 3);
    await target.put("t/big", bytesBody(data), meta("a-1", data.length), { guard: r.guard });
    await target.delete("t/big", null, { guard: r.guard });
    expect(r.ops()).toEqual([
      "CreateMultipartUpload",
      "onUploadId",
      "UploadPart",
      "UploadPart",
      "UploadPart",
      "CompleteMultipartUpload",
      "DeleteObject",
    ]);
    for (const { op, request } of r.seen) {
      if (!request) continue;
      expect(request.headers.authorization).toStartWith("AWS4-HMAC-SHA256 Credential=");
      expect(request.endpoint).toBe(s.endpoint);
      if (op === "UploadPart") {
        expect(request.headers["content-md5"]).toMatch(/^[A-Za-z0-9+/]{22}==$/);
        // Blob bodies: no SHA-256 pass over the payload (Content-MD5 protects it).
        expect(request.headers["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
      }
    }
    target.close();
  });

  test(`[${name}] a guard that throws sends nothing, and put and delete reject with its own error`, async () => {
    const s = await store(name);
    await using proxy = await startFaultProxy(s.port);
    const { target } = await targetOn(s, { endpoints: [proxy.endpoint] });
    await target.open();
    await target.put("t/kept", bytesBody(new Uint8Array([1])), meta("a-0", 1));
    proxy.resetCounters();
    const refusal = new Error("epoch 7 decided by recover");
    const body = bytesBody(randomBytes(300_000, 4));
    for (const attempt of [
      () =>
        target.put("t/refused", body, meta("a-1", body.size), {
          guard: recorder({ throwAt: 1, refusal }).guard,
        }),
      () => target.delete("t/kept", null, { guard: recorder({ throwAt: 1, refusal }).guard }),
    ])
      expect(await attempt().catch((e) => e)).toBe(refusal);
    expect(proxy.bytesUp).toBe(0);
    expect(await target.head("t/kept")).not.toBeNull();
    target.close();
  });

  test(`[${name}] a guard that throws at a part: the upload is aborted, nothing is stored, its error reaches the caller`, async () => {
    const s = await store(name);
    const s3 = { ...SMALL_PARTS, partConcurrency: 1 };
    const { target, bucket } = await targetOn(s, { s3 });
    const r = recorder({ throwAt: 3 }); // Create, part 1, then part 2 refused
    const data = randomBytes(11 * 1024 * 1024, 5);
    const error = await target
      .put("t/cut", bytesBody(data), meta("a-2", data.length), { guard: r.guard })
      .catch((e) => e);
    expect(error.message).toBe("epoch decided");
    expect(r.ops()).toEqual(["CreateMultipartUpload", "onUploadId", "UploadPart", "UploadPart"]);
    expect(await target.head("t/cut")).toBeNull();
    const client = s.client();
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    client.destroy();
    expect(uploads.Uploads ?? []).toEqual([]);
    target.close();
  });

  test(`[${name}] on an unversioned bucket with the window fence (the default) a guarded small put is one PutObject, answered`, async () => {
    const { target } = await targetOn(await store(name));
    const r = recorder();
    const put = await target.put("t/small", bytesBody(new Uint8Array([1, 2])), meta("a-3", 2), {
      guard: r.guard,
    });
    expect(r.ops()).toEqual(["PutObject"]);
    expect(r.answers).toEqual([{ op: "PutObject", answered: true }]);
    expect(put.meta?.partSize).toBeUndefined();
    target.close();
  });

  test(`[${name}] afterSend: a write whose reply is lost is unanswered (it may land later); an error status is an answer`, async () => {
    const s = await store(name);
    await using proxy = await startFaultProxy(s.port);
    const { target } = await targetOn(s, { endpoints: [proxy.endpoint] });
    await target.open();
    proxy.setMode("cut-writes");
    const lost = recorder();
    const body = bytesBody(new Uint8Array([1, 2, 3]));
    expect(
      await target.put("t/lost", body, meta("a-8", 3), { guard: lost.guard }).catch((e) => e),
    ).toBeInstanceOf(Error);
    expect(lost.answers.length).toBeGreaterThan(0);
    expect(lost.answers.every((a) => !a.answered)).toBe(true);
    proxy.setMode("pass");
    // The store applied the write whose reply was lost.
    expect((await target.head("t/lost"))?.meta?.attempt).toBe("a-8");
    // A key over 1,024 bytes: RGW answers 400, s3proxy 500; either way an answer.
    const refused = recorder();
    const long = `t/${"k".repeat(1100)}`;
    expect(
      await target.put(long, body, meta("a-9", 3), { guard: refused.guard }).catch((e) => e),
    ).toBeInstanceOf(Error);
    expect(refused.answers.length).toBeGreaterThan(0);
    expect(refused.answers.every((a) => a.answered)).toBe(true);
    target.close();
  });

  test(`[${name}] with s3.unversionedFence "multipart", a guarded put of a small file on an unversioned bucket is multipart (one part); unguarded it is one PUT`, async () => {
    const { target } = await targetOn(await store(name), { s3: { unversionedFence: "multipart" } });
    const r = recorder();
    const put = await target.put("t/small", bytesBody(new Uint8Array([1, 2])), meta("a-3", 2), {
      guard: r.guard,
    });
    expect(r.ops()).toEqual([
      "CreateMultipartUpload",
      "onUploadId",
      "UploadPart",
      "CompleteMultipartUpload",
    ]);
    expect(put.meta?.partSize).toBeNumber();
    expect(await target.read("t/small")).toEqual(new Uint8Array([1, 2]));
    const plain = await target.put("t/plain", bytesBody(new Uint8Array([3])), meta("a-4", 1));
    expect(plain.meta?.partSize).toBeUndefined();
    target.close();
  });
}

test("[rgw] on a versioned bucket a guarded small put is one PutObject", async () => {
  const { target } = await targetOn(await store("rgw"), { versioned: true });
  const r = recorder();
  const put = await target.put("t/small", bytesBody(new Uint8Array([1])), meta("a-5", 1), {
    guard: r.guard,
  });
  expect(r.ops()).toEqual(["PutObject"]);
  expect(put.versionId).toBeString();
  target.close();
});
