/** The file:// target behaves as an unversioned store behind the same interface. */
import { expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileTarget } from "../../../jobs/targets/file.ts";
import {
  TargetError,
  TargetUnavailableError,
  type WriteGuard,
} from "../../../jobs/targets/target.ts";
import { bytesBody } from "../../../jobs/targets/upload_body.ts";
import { randomBytes } from "../../helpers.ts";
import { md5Hex, meta, rt } from "./stores.ts";

function tempTarget() {
  const dir = mkdtempSync(join(tmpdir(), "tiermv-file-target-"));
  const target = createFileTarget(rt, `file://${dir}/out`);
  return {
    dir,
    target,
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test("file://: readRange with If-Match reads only the object of that ETag (quoted or not); another object at the key is refused as S3 refuses it (412, permanent); a missing one is null", async () => {
  using t = tempTarget();
  const { target } = t;
  await target.open();
  const data = randomBytes(3 << 20, 5);
  const put = await target.put("m/obj", bytesBody(data), meta("m-1", data.length));
  const range = await target.readRange("m/obj", null, 1 << 20, 1 << 20, { ifMatch: put.etag });
  expect(Buffer.from(range ?? [])).toEqual(Buffer.from(data.subarray(1 << 20, 2 << 20)));
  const quoted = await target.readRange("m/obj", null, 0, 10, { ifMatch: `"${put.etag}"` });
  expect(Buffer.from(quoted ?? [])).toEqual(Buffer.from(data.subarray(0, 10)));
  // Past the end: the bytes there are.
  const tail = await target.readRange("m/obj", null, (3 << 20) - 5, 100, { ifMatch: put.etag });
  expect(tail?.length).toBe(5);
  // Overwritten at the same key (same size, other bytes): only the ETag tells.
  const other = randomBytes(3 << 20, 6);
  await target.put("m/obj", bytesBody(other), meta("m-2", other.length));
  const refused = await target
    .readRange("m/obj", null, 1 << 20, 1 << 20, { ifMatch: put.etag })
    .catch((err) => err);
  expect(refused).toBeInstanceOf(TargetError);
  expect(refused).toMatchObject({ status: 412, kind: "permanent" });
  expect(await target.readRange("m/none", null, 0, 1, { ifMatch: put.etag })).toBeNull();
  // An object put there by something else (no record): its ETag is its bytes' MD5.
  const foreign = randomBytes(1000, 7);
  writeFileSync(join(t.dir, "out/m/foreign"), foreign);
  const read = await target.readRange("m/foreign", null, 0, 1000, { ifMatch: md5Hex(foreign) });
  expect(Buffer.from(read ?? [])).toEqual(Buffer.from(foreign));
  // (.catch, not expect().rejects: Bun's rejects waits without serving the mount's replies.)
  const mismatch = await target
    .readRange("m/foreign", null, 0, 1000, { ifMatch: put.etag })
    .catch((err) => err);
  expect(mismatch).toMatchObject({ status: 412 });
  // A file where a directory of the key would be: no object, as for head().
  expect(await target.readRange("m/obj/deeper", null, 0, 1, { ifMatch: put.etag })).toBeNull();
});

test("file://: unversioned, byte-identical objects with metadata, versionsOf the current object, delete by key", async () => {
  using t = tempTarget();
  const { target } = t;
  await target.open();
  expect(target.fence).toBe("unversioned");
  const data = randomBytes(3 << 20, 4);
  const put = await target.put("a/b.bin", bytesBody(data), meta("a-1", data.length));
  expect(put).toEqual({
    key: "a/b.bin",
    versionId: null,
    etag: md5Hex(data),
    size: data.length,
    meta: meta("a-1", data.length),
  });
  expect(await target.head("a/b.bin")).toEqual(put);
  const first = await target.readFirst("a/b.bin", null, 1 << 20);
  expect(first?.object).toEqual(put);
  expect(Buffer.from(first?.bytes ?? [])).toEqual(Buffer.from(data.subarray(0, 1 << 20)));
  expect(await target.readFirst("a/none.bin", null, 1)).toBeNull();
  expect(Buffer.from((await target.read("a/b.bin")) ?? [])).toEqual(Buffer.from(data));
  const versions = [];
  for await (const v of target.versionsOf("a/b.bin")) versions.push(v);
  expect(versions).toEqual([put]);
  const listed = [];
  for await (const item of target.list()) listed.push(item);
  expect(listed).toEqual([{ key: "a/b.bin", versionId: null }]);
  await expect(target.delete("a/b.bin", "v1")).rejects.toThrow("is unversioned");
  await target.delete("a/b.bin", null);
  await target.delete("a/b.bin", null);
  expect(await target.head("a/b.bin")).toBeNull();
  expect(await target.abortUpload("a/b.bin", "any")).toBe(false);
  expect(target.gateways()).toEqual([]);
  // Nothing is left in the temporary directory.
  expect(readdirSync(join(t.dir, "out/.tiermv-tmp"))).toEqual([]);
});

test("file://: the guard runs before the rename and before a delete; a throwing guard writes nothing", async () => {
  using t = tempTarget();
  const { target } = t;
  const ops: string[] = [];
  const refusal = new Error("epoch decided");
  const guard = (refuse: boolean): WriteGuard => ({
    async beforeSend(op) {
      ops.push(op);
      if (refuse) throw refusal;
    },
  });
  const body = bytesBody(new Uint8Array([1, 2]));
  expect(await target.put("k", body, meta("a-1", 2), { guard: guard(true) }).catch((e) => e)).toBe(
    refusal,
  );
  expect(await target.head("k")).toBeNull();
  await target.put("k", body, meta("a-2", 2), { guard: guard(false) });
  expect(await target.delete("k", null, { guard: guard(true) }).catch((e) => e)).toBe(refusal);
  expect(await target.head("k")).not.toBeNull();
  expect(ops).toEqual(["PutObject", "PutObject", "DeleteObject"]);
});

test("file://: a source that shrank fails as a permanent error; an unwritable directory fails the probe", async () => {
  using t = tempTarget();
  const shrunk = { size: 10, readInto: bytesBody(new Uint8Array(4)).readInto };
  const error = await t.target.put("s", shrunk, meta("a-1", 10)).catch((e) => e);
  expect(error).toBeInstanceOf(TargetError);
  expect(error.kind).toBe("permanent");
  expect(await t.target.head("s")).toBeNull();
  await t.target.probe();

  // A path under a regular file can never be a directory (root ignores permission bits).
  writeFileSync(join(t.dir, "plain"), "x");
  chmodSync(join(t.dir, "plain"), 0o400);
  const broken = createFileTarget(rt, `file://${t.dir}/plain/out`);
  const unavailable = await broken.probe().catch((e) => e);
  expect(unavailable).toBeInstanceOf(TargetUnavailableError);
  expect(unavailable.message).toContain(`Target file://${t.dir}/plain/out is unavailable`);
  expect(unavailable.message).toContain("Check that the directory exists");
});

test("file://: an object written in place by something else (same size, its xattr kept) is not described by its recorded ETag: head gives its bytes' MD5, and a read pinned to the old ETag is refused (412)", async () => {
  using t = tempTarget();
  const { target } = t;
  await target.open();
  const data = randomBytes(100_000, 8);
  const put = await target.put("w/obj", bytesBody(data), meta("w-1", data.length));
  expect((await target.head("w/obj"))?.etag).toBe(put.etag);
  await Bun.sleep(20); // a later tick of the clock that stamps mtimes
  const other = randomBytes(100_000, 9);
  writeFileSync(join(t.dir, "out/w/obj"), other); // same inode: the xattr stays
  const head = await target.head("w/obj");
  expect(head?.etag).toBe(md5Hex(other));
  expect(head?.meta?.attempt).toBe("w-1");
  const refused = await target
    .readRange("w/obj", null, 0, 10, { ifMatch: put.etag })
    .catch((err) => err);
  expect(refused).toMatchObject({ status: 412 });
});
