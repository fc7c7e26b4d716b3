/**
 * `npm run chaos -- --faults 1000 --seed 7`: the long soak (see test/chaos/soak.ts), on local disk
 * and s3proxy; with `--cephfs`, on CephFS (each node its own ceph-fuse client) and RGW, on a
 * single-host Ceph started for the run (root, /dev/fuse; docs/ceph.md).
 */

import { describe, soak } from "../test/chaos/soak.ts";
import { cephKind, LOCAL } from "../test/cluster_kinds.ts";
import { startS3proxy } from "../test/services/s3proxy.ts";
import { cephService } from "../test/services/shared.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const onCeph = argv.includes("--cephfs");
const s3 = onCeph ? null : await startS3proxy();
if (s3) process.env.TIERMV_TEST_S3_ENDPOINT = s3.endpoint;
try {
  const result = await soak({
    faults: arg("--faults", 1000),
    seed: arg("--seed", 7),
    log: (l) => console.log(l),
    kind: onCeph ? cephKind({ store: "rgw" }) : LOCAL,
  });
  console.log(describe(result));
  process.exitCode = result.report.violations.length === 0 ? 0 : 1;
} finally {
  await s3?.stop();
  if (onCeph) await (await cephService()).stop();
}
