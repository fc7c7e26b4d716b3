/**
 * Tiering on the real cluster (two ceph-fuse clients racing release and restore; the quota): files on CephFS, objects in RGW (a versioned bucket), tiermv run
 * inside a node's mount namespace. Release gives the space back to the directory's CephFS quota
 * accounting (ceph.dir.rbytes); a restore into a directory whose `ceph.quota.max_bytes` is below
 * the file's size fails cleanly: the client answers EDQUOT at the write (measured: at once, for
 * one client writing), the stub is left as it was, the error names the quota; raised, the
 * restore succeeds byte-identical.
 */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ListObjectVersionsCommand } from "@aws-sdk/client-s3";
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

async function sh(ceph: CephService, script: string, node = "node-a") {
  const r = await ceph.exec(node, ["sh", "-c", script], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${script}: ${r.code} ${r.stderr}`);
  return r.stdout.trim();
}

/** A spool and root on CephFS, a versioned RGW bucket, and tiermv run in a node's namespace. */
async function tierOnCeph(ceph: CephService, name: string) {
  const base = join(ceph.mount, `${name}-${process.pid}`);
  const src = join(base, "src");
  const spool = join(base, "spool");
  const bucket = await ceph.createBucket({ versioned: true });
  const local = tempDir("tier-ceph");
  const config = join(local, "config.json");
  const nodes = ceph.nodes.map((n) => n.name);
  writeFileSync(
    config,
    JSON.stringify({
      spool,
      root: src,
      target: `s3://${bucket}/archive`,
      nodes,
      s3: { endpoint: ceph.endpoint, region: ceph.region },
    }),
  );
  const marker = JSON.stringify({
    v: SPOOL_MARKER_VERSION,
    createdAt: new Date().toISOString(),
    nodes,
  });
  await sh(
    ceph,
    `mkdir -p ${src} ${spool} && printf '%s\\n' '${marker}' > ${spool}/${SPOOL_MARKER}`,
  );
  const env = {
    TIERMV_CONFIG: config,
    TIERMV_LOCK_DIR: local,
    AWS_ACCESS_KEY_ID: ceph.accessKey,
    AWS_SECRET_ACCESS_KEY: ceph.secretKey,
    AWS_REGION: ceph.region,
  };
  const tiermv = (args: string[], node = "node-a") =>
    ceph.exec(node, [process.execPath, CLI, ...args], { env, timeoutMs: 300_000 });
  return { src, tiermv, bucket };
}

test(
  "release frees CephFS space (rbytes); a restore over the directory's quota fails cleanly naming it; raised, it restores byte-identical",
  async () => {
    const ceph = await cluster();
    const { src, tiermv } = await tierOnCeph(ceph, "tier-quota");
    const dir = join(src, "q");
    await sh(ceph, `mkdir -p ${dir}`);
    await sh(
      ceph,
      `head -c ${4 * MiB} /dev/urandom > ${dir}/f.bin && touch -d '2020-01-02 03:04:05' ${dir}/f.bin`,
    );
    const md5 = await sh(ceph, `md5sum < ${dir}/f.bin`);
    const mtime = await sh(ceph, `stat -c %Y ${dir}/f.bin`);
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

test(
  "node-a releases while node-b restores the same files through two ceph-fuse clients, 4 rounds: each file is a stub or itself",
  async () => {
    const ceph = await cluster();
    const { src, tiermv, bucket: rgwBucket } = await tierOnCeph(ceph, "tier-race");
    const dir = join(src, "r");
    await sh(
      ceph,
      `mkdir -p ${dir} && for i in $(seq 1 10); do head -c $((100000 + i * 37000)) /dev/urandom > ${dir}/f$i.bin; done`,
    );
    const sums = await sh(ceph, `cd ${dir} && md5sum f*.bin`);
    expect((await tiermv(["submit", "--node", "node-a", dir])).code).toBe(0);
    expect((await tiermv(["run", "--node", "node-a", "--once"])).code).toBe(0);
    const kinds = new Set<string>();
    for (let round = 0; round < 4; round++) {
      const [releaser, restorer] = round % 2 === 0 ? ["node-a", "node-b"] : ["node-b", "node-a"];
      const results = await Promise.all([
        tiermv(["release", "--node", releaser as string, "--json", dir], releaser),
        tiermv(["restore", "--node", restorer as string, "--json", dir], restorer),
      ]);
      for (const r of results) {
        const seen = r.stdout
          .trim()
          .split("\n")
          .slice(0, -1)
          .map((line) => JSON.parse(line).kind as string);
        for (const kind of seen) kinds.add(kind);
        // A file the other node held is busy: not done by this command, so exit 1.
        expect(r.code).toBe(seen.includes("busy") ? 1 : 0);
      }
      // Every file: a released stub, or its own bytes (checked through the other client).
      const ls = await tiermv(["ls", "--json", dir], "node-b");
      for (const line of ls.stdout.trim().split("\n").slice(0, -1)) {
        const e = JSON.parse(line);
        expect(["released", "migrated"]).toContain(e.tier);
        if (e.tier === "released") expect(e.size).toBe(0);
      }
    }
    expect((await tiermv(["restore", "--node", "node-a", dir])).code).toBe(0);
    expect(await sh(ceph, `cd ${dir} && md5sum f*.bin`, "node-b")).toBe(sums);
    expect(kinds.has("released") && kinds.has("restored")).toBe(true);

    // remove (a versioned bucket): the archived copy of a file that is not released goes, by
    // its version; a released file's is refused.
    await tiermv(["release", "--node", "node-a", join(dir, "f2.bin")]);
    const remove = await tiermv([
      "remove",
      "--node",
      "node-a",
      "--json",
      join(dir, "f1.bin"),
      join(dir, "f2.bin"),
    ]);
    expect(remove.code).toBe(1);
    const removed = remove.stdout
      .trim()
      .split("\n")
      .slice(0, -1)
      .map((l) => JSON.parse(l));
    const byName = Object.fromEntries(removed.map((o) => [o.path.split("/").at(-1), o]));
    // f1.bin is 100,000 + 37,000 bytes: what is no longer archived, per file and in the summary.
    expect(byName["f1.bin"]).toMatchObject({ kind: "removed", bytes: 137_000 });
    expect(byName["f2.bin"]).toMatchObject({ kind: "refused" });
    expect(JSON.parse(remove.stdout.trim().split("\n").at(-1) as string)).toMatchObject({
      summary: true,
      bytes: 137_000,
    });
    const client = ceph.s3Client();
    const listing = (await tiermv(["ls", "--json", dir])).stdout;
    expect(listing).toContain(`"tier":"unmigrated"`);
    const versions = await client.send(
      new ListObjectVersionsCommand({ Bucket: rgwBucket, Prefix: "archive/r/f1.bin" }),
    );
    expect(versions.Versions ?? []).toHaveLength(0);

    // A dirty stub on a versioned bucket: migrating it again adds a version; the released bytes
    // keep theirs (nothing deletes a committed attempt's version).
    const f3 = join(dir, "f3.bin");
    await tiermv(["release", "--node", "node-a", f3]);
    await sh(ceph, `printf 'new bytes' >> ${f3}`);
    expect(
      (await tiermv(["submit", "--node", "node-a", "--request-id", "dirty-again", f3])).code,
    ).toBe(0);
    const again = await tiermv(["run", "--node", "node-a", "--once", "--json"]);
    expect(JSON.parse(again.stdout.trim().split("\n").at(-1) as string).counts.migrated).toBe(1);
    const kept = await client.send(
      new ListObjectVersionsCommand({ Bucket: rgwBucket, Prefix: "archive/r/f3.bin" }),
    );
    expect(kept.Versions ?? []).toHaveLength(2);

    // A stub holding its object's first bytes (what a restore stopped part way leaves) is not a
    // dirty stub: migrate refuses it rather than archive part of the file as all of it (a new
    // version, which the state would then name), and restore finishes it.
    const f4 = join(dir, "f4.bin");
    const f4sum = await sh(ceph, `md5sum < ${f4}`);
    await sh(ceph, `head -c 50000 ${f4} > ${src}/f4.head`);
    expect((await tiermv(["release", "--node", "node-a", f4])).code).toBe(0);
    await sh(ceph, `dd if=${src}/f4.head of=${f4} conv=notrunc status=none && rm ${src}/f4.head`);
    const submitted = await tiermv(["submit", "--node", "node-a", "--request-id", "partial", f4]);
    expect(submitted.code).toBe(0);
    const partial = await tiermv(["run", "--node", "node-a", "--once", "--json"]);
    expect(partial.code).toBe(1);
    expect(JSON.parse(partial.stdout.trim().split("\n").at(-1) as string).counts).toMatchObject({
      migrated: 0,
      refused: 1,
      dirty: 0,
    });
    const one = await client.send(
      new ListObjectVersionsCommand({ Bucket: rgwBucket, Prefix: "archive/r/f4.bin" }),
    );
    expect(one.Versions ?? []).toHaveLength(1);
    expect((await tiermv(["restore", "--node", "node-a", f4])).code).toBe(0);
    expect(await sh(ceph, `md5sum < ${f4}`)).toBe(f4sum);
    client.destroy();
    console.log(`outcome kinds seen across the two clients: ${[...kinds].sort().join(", ")}`);
  },
  TIMEOUT,
);
