/**
 * Tiering on the real cluster: files on CephFS, objects in RGW (a versioned bucket), tiermv run
 * inside a node's mount namespace. Release gives the space back to the directory's CephFS quota
 * accounting (ceph.dir.rbytes); a restore into a directory whose `ceph.quota.max_bytes` is below
 * the file's size fails cleanly: the client answers EDQUOT at the write (measured: at once, for
 * one client writing), the stub is left as it was, the error names the quota; raised, the
 * restore succeeds byte-identical.
 */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SPOOL_MARKER, SPOOL_MARKER_VERSION } from "../../jobs/spool/marker.ts";
import { CLI, tempDir } from "../helpers.ts";
import type { CephService } from "../services/ceph.ts";
import { cephService } from "../services/shared.ts";

const TIMEOUT = 600_000;
const MiB = 1024 * 1024;
let started: Promise<CephService> | null = null;
const cluster = () => {
  started ??= cephService();
  return started;
};
afterAll(async () => {
  const ceph = await started?.catch(() => null);
  await ceph?.stop();
}, 60_000);

async function sh(ceph: CephService, script: string, env: Record<string, string> = {}) {
  const r = await ceph.exec("node-a", ["sh", "-c", script], { env, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${script}: ${r.code} ${r.stderr}`);
  return r.stdout.trim();
}

test(
  "release frees CephFS space (rbytes); a restore over the directory's quota fails cleanly naming it; raised, it restores byte-identical",
  async () => {
    const ceph = await cluster();
    const base = join(ceph.mount, `tier-quota-${process.pid}`);
    const src = join(base, "src");
    const spool = join(base, "spool");
    const dir = join(src, "q");
    const bucket = await ceph.createBucket({ versioned: true });
    const local = tempDir("tier-ceph");
    const config = join(local, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        spool,
        root: src,
        target: `s3://${bucket}/archive`,
        nodes: ["node-a"],
        s3: { endpoint: ceph.endpoint, region: ceph.region },
      }),
    );
    const marker = JSON.stringify({
      v: SPOOL_MARKER_VERSION,
      createdAt: new Date().toISOString(),
      nodes: ["node-a"],
    });
    await sh(
      ceph,
      `mkdir -p ${dir} ${spool} && printf '%s\\n' '${marker}' > ${spool}/${SPOOL_MARKER}`,
    );
    await sh(
      ceph,
      `head -c ${4 * MiB} /dev/urandom > ${dir}/f.bin && touch -d '2020-01-02 03:04:05' ${dir}/f.bin`,
    );
    const md5 = await sh(ceph, `md5sum < ${dir}/f.bin`);
    const mtime = await sh(ceph, `stat -c %Y ${dir}/f.bin`);
    const env = {
      TIERMV_CONFIG: config,
      TIERMV_LOCK_DIR: local,
      AWS_ACCESS_KEY_ID: ceph.accessKey,
      AWS_SECRET_ACCESS_KEY: ceph.secretKey,
      AWS_REGION: ceph.region,
    };
    const tiermv = (args: string[]) =>
      ceph.exec("node-a", [process.execPath, CLI, ...args], { env, timeoutMs: 120_000 });
    expect((await tiermv(["submit", "--node", "node-a", dir])).code).toBe(0);
    const run = await tiermv(["run", "--node", "node-a", "--once"]);
    expect(run.code).toBe(0);

    const rbytes = async () =>
      Number(await sh(ceph, `getfattr --only-values -n ceph.dir.rbytes ${dir}`));
    expect(await rbytes()).toBe(4 * MiB);
    const release = await tiermv(["release", "--node", "node-a", "--json", dir]);
    expect(release.code).toBe(0);
    expect(JSON.parse(release.stdout.trim().split("\n")[0] as string)).toMatchObject({
      kind: "released",
    });
    expect(await sh(ceph, `stat -c %s ${dir}/f.bin`)).toBe("0");
    // The directory's recursive byte count, which CephFS quotas are enforced against.
    expect(await rbytes()).toBe(0);

    await ceph.setQuota(dir, 1 * MiB);
    const refused = await tiermv(["restore", "--node", "node-a", "--json", dir]);
    expect(refused.code).toBe(1);
    const outcome = JSON.parse(refused.stdout.trim().split("\n")[0] as string);
    expect(outcome).toMatchObject({ kind: "failed" });
    expect(outcome.error).toContain("EDQUOT");
    expect(outcome.error).toContain(`ceph.quota.max_bytes=${MiB} on ${dir}`);
    expect(await sh(ceph, `stat -c '%s %Y' ${dir}/f.bin`)).toBe(`0 ${mtime}`);

    await ceph.setQuota(dir, 0);
    const restored = await tiermv(["restore", "--node", "node-a", "--json", dir]);
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.stdout.trim().split("\n")[0] as string)).toMatchObject({
      kind: "restored",
    });
    expect(await sh(ceph, `md5sum < ${dir}/f.bin`)).toBe(md5);
    expect(await sh(ceph, `stat -c %Y ${dir}/f.bin`)).toBe(mtime);
  },
  TIMEOUT,
);
