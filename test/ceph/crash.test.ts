/**
 * The kill -9 matrix on CephFS: spool and source tree on CephFS, the node a real `tiermv` process
 * in its own ceph-fuse client's namespace, killed at each protocol step and restarted; the target
 * a versioned RGW bucket (the version fence), where the checker also finds any version that no
 * state names. The cases: test/protocol/crash.cases.ts.
 */
import { expect, test } from "bun:test";
import { checkInvariants, startCluster } from "../cluster.ts";
import { cephKind } from "../cluster_kinds.ts";
import { randomBytes } from "../helpers.ts";
import { crashTests } from "../protocol/crash.cases.ts";

const kind = cephKind({ store: "rgw-versioned" });
crashTests(kind);

// Skipped: a product gap found by this suite, not yet fixed. With upload retries on (the
// default), a PUT whose answer was lost is sent again; on a versioned bucket both land, as two
// versions carrying the same attempt. The restart resolves the dead attempt as committed and its
// state names one version; nothing deletes the other, which no state names (an orphan version,
// 2 to 6 of the 8 files in each of three runs). Missing: when an attempt commits on a versioned bucket, delete
// the attempt's other versions (docs/protocol-v2.md section 6 cleans only failed attempts).
test.skip(`${kind.label}a PUT retried after its answer was lost leaves no second version of the attempt that commits`, async () => {
  await using c = await startCluster(["a"], {}, kind);
  c.setConfig({ migrate: { concurrency: 2, uploadRetries: 1, uploadRetryBaseMs: 1 } });
  for (let i = 0; i < 8; i++) c.box.file(`d/${i}.bin`, randomBytes(3000 + i, i + 1));
  await c.submit("a", [c.box.src]);
  c.proxies.a?.setMode("cut-writes"); // every PUT lands, every answer is lost, each is retried once
  expect((await c.run("a", { TIERMV_CRASH_AT: "after-journal:3" })).code).toBe(137);
  c.proxies.a?.setMode("pass");
  await c.quiesce();
  const report = await checkInvariants(c);
  expect(report.violations).toEqual([]);
  expect(report.committed).toBe(8);
});
