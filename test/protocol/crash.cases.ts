/**
 * kill -9 of a node process at every step of the protocol, then a restart: every file ends
 * migrated exactly once and correct, no lock is left, no orphan object remains. Defined once for
 * every cluster kind: crash.test.ts runs them on local disk and s3proxy,
 * test/ceph/crash.test.ts on CephFS and a versioned RGW bucket.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { createS3Target } from "../../jobs/targets/s3.ts";
import { createRuntime } from "../../runtime/bun.ts";
import {
  type Cluster,
  checkInvariants,
  expectAllCommitted,
  startCluster,
  windowsDue,
} from "../cluster.ts";
import type { ClusterKind } from "../cluster_kinds.ts";
import { randomBytes, waitFor } from "../helpers.ts";
import { holderOf, stateOf } from "../records.ts";

const rt = createRuntime();
const KILLED = 137; // 128 + SIGKILL

/** Runs node a of `c` over 8 files until it kills itself at `point` (its `nth` time there). */
async function crashAt(
  c: Cluster,
  point: string,
  options: { failFirst?: boolean; nth?: number } = {},
) {
  c.setConfig({ migrate: { concurrency: 2, uploadRetries: 0, uploadRetryBaseMs: 1 } });
  const files = Array.from({ length: 8 }, (_, i) =>
    c.box.file(`d/${i}.bin`, randomBytes(3000 + i, i + 1)),
  );
  await c.submit("a", [c.box.src]);
  // The files' writes land unanswered; the target's probe passes (the failure is the files').
  if (options.failFirst) c.proxies.a?.setMode("cut-file-writes");
  const crashed = await c.run("a", { TIERMV_CRASH_AT: `${point}:${options.nth ?? 3}` });
  c.proxies.a?.setMode("pass");
  return { files, crashed };
}

function journalLines(spool: string): number {
  try {
    return readFileSync(join(spool, "nodes/a/failed-files.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean).length;
  } catch {
    return 0;
  }
}

export function crashTests(kind: ClusterKind): void {
  // Task-level points are reached once per task; file-level ones at the third file.
  const POINTS: [string, number][] = [
    ["after-claim", 1],
    ["after-lock", 3],
    ["after-upload", 3],
    ["after-commit", 3],
    ["before-finish", 1],
  ];

  for (const [point, nth] of POINTS) {
    test(`${kind.label}kill -9 ${point}, then restart: every file migrated once and correct`, async () => {
      await using c = await startCluster(["a"], {}, kind);
      const { crashed } = await crashAt(c, point, { nth });
      expect(crashed.code).toBe(KILLED);
      await expectAllCommitted(c, 8);
    });
  }

  test(`${kind.label}kill -9 after an upload finished but before its commit: the restart commits that upload without uploading again`, async () => {
    await using c = await startCluster(["a"], {}, kind);
    const { files, crashed } = await crashAt(c, "after-upload");
    expect(crashed.code).toBe(KILLED);
    // Epochs left held whose object is complete (the crashed third upload at least).
    const { AWS_ACCESS_KEY_ID = "", AWS_SECRET_ACCESS_KEY = "" } = c.place.env;
    const target = createS3Target(rt, c.box.config.target, c.box.config, {
      credentials: { accessKeyId: AWS_ACCESS_KEY_ID, secretAccessKey: AWS_SECRET_ACCESS_KEY },
    });
    const complete: { path: string; attempt: string }[] = [];
    for (const path of files) {
      const lock = await holderOf(path);
      if (!lock) continue;
      const head = await target.head(`m/${path.slice(c.box.src.length + 1)}`);
      if (head?.meta?.attempt === lock.attempt) complete.push({ path, attempt: lock.attempt });
    }
    expect(complete.length).toBeGreaterThan(0);
    await c.quiesce();
    for (const { path, attempt } of complete) {
      // Committed from the crashed attempt's own object: no second upload, no rollback.
      expect((await stateOf(path))?.attempt).toBe(attempt);
    }
    expect((await checkInvariants(c)).violations).toEqual([]);
    target.close();
  });

  test(`${kind.label}kill -9 right after journalling a failed attempt, then restart: rollback frees the lock and the file migrates`, async () => {
    await using c = await startCluster(["a"], {}, kind);
    const { crashed } = await crashAt(c, "after-journal", { failFirst: true });
    expect(crashed.code).toBe(KILLED);
    expect(journalLines(c.box.spool)).toBeGreaterThanOrEqual(3);
    await expectAllCommitted(c, 8);
  });

  test(`${kind.label}kill -9 mid-rollback (the store cleaned, c.<n> not yet created), then restart: the replay is harmless`, async () => {
    await using c = await startCluster(["a"], {}, kind);
    c.setConfig({ migrate: { concurrency: 2, uploadRetries: 0, uploadRetryBaseMs: 1 } });
    for (let i = 0; i < 6; i++) c.box.file(`r/${i}.bin`, randomBytes(2000 + i, i + 3));
    await c.submit("a", [c.box.src]);
    // Writes reach the store but their answers never come back: the probe (its PUT) finds the
    // target down and the tick stops; the files in flight sent writes without an answer, so their
    // epochs are journalled (the protocol's rule), and the run's own rollback is blocked.
    c.proxies.a?.setMode("cut-writes");
    await c.run("a");
    c.proxies.a?.setMode("pass");
    expect(journalLines(c.box.spool)).toBeGreaterThanOrEqual(1);
    // Those epochs are ambiguous (a write without an answer): their cleanup waits the window.
    await waitFor(() => Date.now() >= windowsDue(c.box.spool, ["a"]), "the late-write windows");
    const rollback = await c.cli("a", ["rollback", "--node", "a"], {
      TIERMV_CRASH_AT: "mid-rollback:1",
    });
    expect(rollback.code).toBe(KILLED);
    await expectAllCommitted(c, 6);
  });

  test(`${kind.label}kill -9 mid-upload (request sent, response pending), then restart: every file migrated once and correct`, async () => {
    await using c = await startCluster(["a"], {}, kind);
    for (let i = 0; i < 6; i++) c.box.file(`u/${i}.bin`, randomBytes(100_000 + i, i + 5));
    await c.submit("a", [c.box.src]);
    c.proxies.a?.setMode("hold");
    const proc = c.spawnRun("a");
    await waitFor(() => (c.proxies.a?.bytesUp ?? 0) > 300_000, "uploads in flight");
    proc.kill("SIGKILL");
    expect(await proc.exited).toBe(KILLED);
    c.proxies.a?.release();
    await expectAllCommitted(c, 6);
  });

  // The attempt records its upload id in the spool (nodes/<node>/uploads/<attempt>) before its
  // first part; the restart resolves the dead attempt as failed and its cleanup aborts exactly
  // that id (never "every incomplete upload of the key").
  test(`${kind.label}kill -9 in the middle of a multipart upload: the restart migrates the file and aborts the dead attempt's upload by its recorded id`, async () => {
    await using c = await startCluster(["a"], {}, kind);
    c.box.file("big/large.bin", randomBytes(17 * 1024 * 1024, 77));
    await c.submit("a", [c.box.src]);
    // The node dies right after recording its upload id, before any part: the upload exists.
    const crashed = await c.run("a", { TIERMV_CRASH_AT: "after-upload-id" });
    expect(crashed.code).toBe(KILLED);
    const client = c.s3();
    const before = await client.send(new ListMultipartUploadsCommand({ Bucket: c.bucket }));
    expect((before.Uploads ?? []).length).toBe(1);
    await c.quiesce();
    const after = await client.send(new ListMultipartUploadsCommand({ Bucket: c.bucket }));
    expect(after.Uploads ?? []).toEqual([]);
    client.destroy();
    const report = await checkInvariants(c);
    expect(report.violations).toEqual([]);
    expect(report.committed).toBe(1);
  });
}
