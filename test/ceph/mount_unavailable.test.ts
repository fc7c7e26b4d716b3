/**
 * A mount that dies under a running node (issue 2.3 point 6, 2.4): the source root is on CephFS,
 * and the node's ceph-fuse is killed (kill -9) while an upload is in flight. Every call under the
 * mount then fails with ENOTCONN: the file's error leads to a probe of the root, the probe fails
 * too, so the mount is unavailable: the tick stops, the task goes back to pending (the spool is
 * on a local disk here), `run` exits 1 with one message naming the mount and what to check.
 * The node's client is remounted afterwards.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, sandbox, waitFor } from "../helpers.ts";
import type { CephService } from "../services/ceph.ts";
import { type FaultProxy, startFaultProxy } from "../services/fault_proxy.ts";
import { cephService, newBucket, s3Env, s3Service } from "../services/shared.ts";

const TIMEOUT = 600_000;
let started: Promise<CephService> | null = null;
let proxy: FaultProxy;
let endpoint = "";

beforeAll(async () => {
  const s3 = await s3Service();
  endpoint = s3.endpoint;
  proxy = await startFaultProxy(s3.port);
});
afterAll(async () => {
  await proxy.stop();
  const ceph = await started?.catch(() => null);
  await ceph?.stop();
}, 60_000);

async function mustExec(ceph: CephService, cmd: string[]): Promise<string> {
  const result = await ceph.exec("node-a", cmd);
  if (result.code !== 0) throw new Error(`${cmd.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

test(
  "ceph-fuse killed under a running node: the root's probe fails (ENOTCONN), the task goes back to pending, exit 1 naming the mount",
  async () => {
    started ??= cephService();
    const ceph = await started;
    const bucket = await newBucket(endpoint);
    const box = sandbox({
      target: `s3://${bucket}/x`,
      endpoint: proxy.endpoint,
      extra: { migrate: { concurrency: 1, uploadRetries: 0 }, mount: { timeoutMs: 5000 } },
    });
    const root = join(ceph.mount, `mount-down-${process.pid}-${Date.now().toString(36)}`);
    await mustExec(ceph, ["mkdir", "-p", root]);
    await mustExec(ceph, ["sh", "-c", `printf a > ${root}/a.txt && printf b > ${root}/b.txt`]);
    box.setConfig({ root });
    const env = { ...process.env, ...s3Env(), ...box.env, TIERMV_LOG: "text" };
    const tiermv = (args: string[]) => [process.execPath, CLI, ...args];
    const submit = await ceph.exec("node-a", tiermv(["submit", "--node", "a", root]), { env });
    expect(submit.code).toBe(0);
    proxy.setMode("stall"); // the first upload stays in flight
    const run = ceph.spawn("node-a", tiermv(["run", "--node", "a", "--once"]), {
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      await waitFor(() => proxy.stalled > 0, "the first upload to be in flight");
      process.kill(ceph.fusePid("node-a"), "SIGKILL");
      proxy.release();
      const [code, stderr] = await Promise.all([run.exited, new Response(run.stderr).text()]);
      expect(code).toBe(1);
      expect(stderr).toContain(`The shared mount of ${root} is unavailable`);
      expect(stderr).toContain("ENOTCONN");
      expect(stderr).toContain("Check that it is mounted");
      const queue = (q: string) => {
        const dir = join(box.spool, "nodes/a", q);
        return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".task")) : [];
      };
      expect(queue("pending")).toHaveLength(1);
      expect(queue("running")).toEqual([]);
      expect(queue("failed")).toEqual([]);
      // What status and /metrics read (the spool is local here, so it could be written).
      const note = JSON.parse(readFileSync(join(box.spool, "nodes/a/unavailable.json"), "utf8"));
      expect(note).toMatchObject({ what: "mount" });
      expect(note.error).toContain("ENOTCONN");
      // The next run, with the mount still dead, stops at its start: exit 1 (not a config
      // error), the mount named.
      const dead = await ceph.exec("node-a", tiermv(["run", "--node", "a", "--once"]), { env });
      expect(dead.code).toBe(1);
      expect(dead.stderr).toContain(`The shared mount of ${root} is unavailable`);
      expect(queue("pending")).toHaveLength(1);
    } finally {
      proxy.release();
      run.kill("SIGKILL");
      await ceph.remount("node-a");
    }
    // The mount is back. The killed client's capabilities on these files are released by the
    // MDS only when its session times out: wait for the files to be readable through the new one.
    const readable = await ceph.exec("node-a", ["cat", `${root}/a.txt`, `${root}/b.txt`], {
      timeoutMs: 180_000,
    });
    expect(readable.stdout).toBe("ab");
    // The next run finishes the task.
    const again = await ceph.exec("node-a", tiermv(["run", "--node", "a", "--once"]), { env });
    if (again.code !== 0) throw new Error(`The run after the remount failed:\n${again.stderr}`);
    expect(
      readdirSync(join(box.spool, "nodes/a/done")).filter((n) => n.endsWith(".task")),
    ).toHaveLength(1);
  },
  TIMEOUT,
);
