/**
 * docs/ceph.md, "S3 interoperability": probes what an S3-compatible store really does, each
 * capability by its negative case, with the AWS SDK configured as jobs/lib/target_s3.ts
 * configures it (path style, checksums WHEN_REQUIRED, one attempt, fetch handler). Runs against
 * Ceph RGW and s3proxy (both started here) and prints one markdown table.
 *
 *   bun test/ceph/store_probe.ts
 */
import { startCeph } from "../services/ceph.ts";
import { ACCESS_KEY, S3PROXY_VERSION, SECRET_KEY, startS3proxy } from "../services/s3proxy.ts";
import { describe, PROBES, type Store } from "./store_probes.ts";

const ceph = await startCeph({ nodes: [] });
const s3proxy = await startS3proxy();
try {
  const stores: Store[] = [
    {
      name: `RGW ${ceph.version.split(" ")[2]}`,
      endpoint: ceph.endpoint,
      accessKey: ceph.accessKey,
      secretKey: ceph.secretKey,
    },
    {
      name: `s3proxy ${S3PROXY_VERSION}`,
      endpoint: s3proxy.endpoint,
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
    },
  ];
  const rows: string[][] = PROBES.map((p) => [p.name]);
  for (const store of stores)
    for (const [i, probe] of PROBES.entries())
      rows[i]?.push(await probe.run(store).catch((err) => `probe error: ${describe(err)}`));
  console.log(`| probe | ${stores.map((s) => s.name).join(" | ")} |`);
  console.log(`|---|${stores.map(() => "---").join("|")}|`);
  for (const row of rows)
    console.log(`| ${row.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`);
} finally {
  await Promise.all([ceph.stop(), s3proxy.stop()]);
}
