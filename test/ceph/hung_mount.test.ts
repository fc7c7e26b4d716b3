/**
 * A hung mount never hangs a node, end to end: two nodes on CephFS (each its own ceph-fuse
 * client) and RGW; node a's ceph-fuse is stopped (SIGSTOP) while node a is in the middle of a
 * task. Node a must say within `mount.timeoutMs` that its mount is unavailable (a log line naming
 * the mount, `/readyz`, `status`), node b must migrate all of its own files meanwhile, and after
 * SIGCONT node a must finish (its scheduler, or a restart of it if it exited) and every file end
 * committed and correct.
 *
 * The freeze stays well under the session timeout (30 s in the suite) and node b and the checker
 * never touch node a's files or spool dir while it lasts: a client that needed node a's
 * capabilities would wait for the MDS to evict node a, which comes back blocklisted (docs/ceph.md,
 * "A hung mount"); test/ceph/harness.test.ts covers that.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type Cluster, checkInvariants, isQuiet, startCluster } from "../cluster.ts";
import { cephKind } from "../cluster_kinds.ts";
import { randomBytes, spawnCli, streamText, waitFor } from "../helpers.ts";

const kind = cephKind({ store: "rgw" });
const MOUNT_TIMEOUT_MS = 2000;
/** Bounds every wait for the frozen node's answer: a few mount deadlines, far below 30 s. */
const ANSWER_WITHIN_MS = 4 * MOUNT_TIMEOUT_MS;

/** `work` within `ms`, or a failure saying what hung (a hung node must not hang the test). */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Two nodes with files of their own (A for a, B for b) submitted, and a `serve` of node a. */
async function twoNodesOwnFiles() {
  const c = await startCluster(
    ["a", "b"],
    {
      mount: { timeoutMs: MOUNT_TIMEOUT_MS },
      schedule: { tickMs: 200, heartbeatMs: 500 },
      migrate: { concurrency: 2 },
    },
    kind,
  );
  const ceph = c.place.ceph;
  if (!ceph) throw new Error("the Ceph kind has no cluster");
  const ofA = Array.from({ length: 8 }, (_, i) =>
    c.box.file(`A/${i}.bin`, randomBytes(200_000 + i, i + 3)),
  );
  const ofB = Array.from({ length: 8 }, (_, i) =>
    c.box.file(`B/${i}.bin`, randomBytes(100_000 + i, i + 31)),
  );
  expect((await c.submit("a", [join(c.box.src, "A")])).code).toBe(0);
  expect((await c.submit("b", [join(c.box.src, "B")])).code).toBe(0);
  const inA = { nsPid: c.place.nsPidOf("a") };
  const serve = spawnCli(
    ["serve", "--listen", "127.0.0.1:0", "--config", c.configOf("a")],
    c.box.env,
    inA,
  );
  const served = streamText(serve.stdout);
  const url = (await served.until(/listening on (http:\/\/\S+)/, "serve's URL"))[1] ?? "";
  served.release();
  const watchA = () =>
    spawnCli(["run", "--node", "a", "--watch", "--config", c.configOf("a")], c.box.env, inA);
  return { c, ceph, ofA, ofB, serve, url, watchA };
}

/** Node a mid-task (its uploads' answers held by its proxy), then its ceph-fuse stopped. */
async function freezeMidTask(
  c: Cluster,
  freeze: () => void,
  watch: Subprocess<"ignore", "pipe", "pipe">,
) {
  c.proxies.a?.setMode("hold");
  const log = streamText(watch.stderr);
  await waitFor(() => (c.proxies.a?.bytesUp ?? 0) > 200_000, "node a's uploads in flight");
  freeze();
  c.proxies.a?.release(); // a's next calls are on the mount: its commits, its next files
  return log;
}

test(`${kind.label}node a's ceph-fuse stopped mid-task: within its deadline a says its mount is unavailable (log, /readyz, status), b finishes its own files, and after SIGCONT a finishes and every file is correct`, async () => {
  const { c, ceph, ofA, ofB, serve, url, watchA } = await twoNodesOwnFiles();
  await using _cluster = c;
  let watch = watchA();
  const named = new RegExp(`shared mount[^\\n]*"${ceph.mount}/`);
  let thawed = false;
  const log = await freezeMidTask(c, () => ceph.freeze("node-a"), watch);
  try {
    // 1. Its scheduler logs a line naming the mount, within its deadline (plus a tick).
    await within(ANSWER_WITHIN_MS, "node a's log", log.until(named, "a line naming the mount"));
    // 2. /readyz answers 503: the mount check failed, naming the path.
    const ready = await within(ANSWER_WITHIN_MS, "/readyz", fetch(`${url}/readyz`));
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: { mount: { ok: boolean; error: string } } };
    expect(body.checks.mount.ok).toBe(false);
    expect(body.checks.mount.error).toMatch(named);
    // 3. `status` on node a answers (exit 1), saying which path of the mount did not answer.
    const status = await within(ANSWER_WITHIN_MS, "status", c.cli("a", ["status", "--json"]));
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(named);
    // 4. Node b, on its own client, migrates all of its files meanwhile.
    const b = await c.runJson("b");
    expect(b.code).toBe(0);
    expect(b.json.counts.migrated).toBe(ofB.length);
    ceph.thaw("node-a");
    thawed = true;
  } finally {
    if (!thawed) ceph.thaw("node-a");
    log.release();
  }
  // After SIGCONT node a finishes its task: the same scheduler if it kept ticking, or, if it gave
  // up on the hung mount (today: its tick fails, and it exits 1 once its stuck calls return after
  // the thaw), a restart, as systemd's Restart=on-failure does.
  const done = () => isQuiet(c.box.spool, ["a"]);
  await waitFor(() => watch.exitCode !== null || done(), "node a to exit or finish", 90_000);
  if (watch.exitCode !== null) {
    expect(watch.exitCode).toBe(1);
    watch = watchA();
  }
  await waitFor(done, "node a to finish after the thaw", 90_000);
  watch.kill("SIGTERM");
  expect(await watch.exited).toBe(0);
  serve.kill("SIGTERM");
  await serve.exited;
  await c.quiesce();
  const report = await checkInvariants(c);
  expect(report.violations).toEqual([]);
  expect(report.committed).toBe(ofA.length + ofB.length);
});

test(`${kind.label}node a's ceph-fuse stopped: /metrics reports the mount down, and a second run of node a names the stuck scheduler`, async () => {
  const { c, ceph, serve, url, watchA } = await twoNodesOwnFiles();
  await using _cluster = c;
  const watch = watchA();
  const log = await freezeMidTask(c, () => ceph.freeze("node-a"), watch);
  try {
    const metrics = await within(ANSWER_WITHIN_MS, "/metrics", fetch(`${url}/metrics`));
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^tiermv_mount_\w+(\{[^}]*\})? 0$/m);
    const second = await within(
      ANSWER_WITHIN_MS * 2,
      "a second run of node a",
      c.cli("a", ["run", "--node", "a", "--once"]),
    );
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`Node "a" is already running here`);
    expect(second.stderr).toContain(`pid ${watch.pid}`);
  } finally {
    ceph.thaw("node-a");
    log.release();
    watch.kill("SIGTERM");
    serve.kill("SIGTERM");
  }
});
