/**
 * The kill -9 matrix on CephFS: spool and source tree on CephFS, the node a real `tiermv` process
 * in its own ceph-fuse client's namespace, killed at each protocol step and restarted; the target
 * a versioned RGW bucket (the version fence), where the checker also finds any version that no
 * state names. The cases: test/protocol/crash.cases.ts.
 */
import { expect, test } from "bun:test";
import {
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { checkInvariants, startCluster } from "../cluster.ts";
import { cephKind } from "../cluster_kinds.ts";
import { randomBytes } from "../helpers.ts";
import { crashTests } from "../protocol/crash.cases.ts";

const kind = cephKind({ store: "rgw-versioned" });
crashTests(kind);

test(`${kind.label}a PUT retried after its answer was lost leaves no second version of the attempt that commits`, async () => {
  await using c = await startCluster(["a"], {}, kind);
  c.setConfig({ migrate: { concurrency: 2, uploadRetries: 1, uploadRetryBaseMs: 1 } });
  for (let i = 0; i < 8; i++) c.box.file(`d/${i}.bin`, randomBytes(3000 + i, i + 1));
  await c.submit("a", [c.box.src]);
  // Every PUT of a file lands, every answer is lost, each is retried once (the probe passes).
  c.proxies.a?.setMode("cut-file-writes");
  expect((await c.run("a", { TIERMV_CRASH_AT: "after-journal:3" })).code).toBe(137);
  c.proxies.a?.setMode("pass");
  await c.quiesce();
  const report = await checkInvariants(c);
  expect(report.violations).toEqual([]);
  expect(report.committed).toBe(8);
});

test(`${kind.label}a crash between a commit and the deletion of its attempt's extra version leaves it to the resumed task, which never deletes another attempt's version`, async () => {
  await using c = await startCluster(["a"], {}, kind);
  c.setConfig({ migrate: { uploadRetries: 1, uploadRetryBaseMs: 1 } });
  const bytes = randomBytes(5000, 7);
  c.box.file("d/x.bin", bytes);
  await c.submit("a", [c.box.src]);
  const proxy = c.proxies.a;
  if (!proxy) throw new Error("node a has no fault proxy");
  proxy.setMode("cut-next-write"); // the first PUT lands unanswered, its resend is answered
  expect((await c.run("a", { TIERMV_CRASH_AT: "after-commit:1" })).code).toBe(137);
  expect(proxy.cuts).toBe(1);
  proxy.setMode("pass");
  const key = "m/d/x.bin";
  const s3 = c.s3();
  // Both sends landed (the HTTP client resends a PUT cut on a reused connection by itself);
  // the commit names one, the crash came before the other's deletion.
  expect((await versionsOf(s3, c.bucket, key)).length).toBe(2);
  // Another attempt's version of the key, same epoch and inode: not ours to delete, it stays.
  const head = await s3.send(new HeadObjectCommand({ Bucket: c.bucket, Key: key }));
  const Metadata = { ...head.Metadata, attempt: "0123456789abcdef" };
  const put = new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: bytes, Metadata });
  const foreign = (await s3.send(put)).VersionId;
  await c.quiesce();
  const report = await checkInvariants(c);
  expect(report.violations).toEqual([`orphan object ${key} ${foreign}`]);
  expect(report.committed).toBe(1);
  expect((await versionsOf(s3, c.bucket, key)).length).toBe(2); // the committed one, the foreign
  s3.destroy();
});

async function versionsOf(s3: S3Client, bucket: string, key: string): Promise<string[]> {
  const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return (page.Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId ?? "");
}
