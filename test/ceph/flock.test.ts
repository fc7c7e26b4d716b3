/**
 * Tiering (release, restore) excludes itself across nodes with flock(LOCK_EX|LOCK_NB) on the
 * file's descriptor (docs/tiering.md). That needs flock to be exclusive across two ceph-fuse
 * clients, not only within one: probed here on the real cluster, through the runtime's own call.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { CephService } from "../services/ceph.ts";
import { cephService } from "../services/shared.ts";

const WORKER = join(import.meta.dir, "flock_worker.ts");
const TIMEOUT = 600_000;
let started: Promise<CephService> | null = null;
const cluster = () => {
  started ??= cephService();
  return started;
};
afterAll(async () => {
  const ceph = await started?.catch(() => null);
  await ceph?.stop();
}, 60_000);

/** Starts a worker on `node` and returns its first line (the outcomes) and the process. */
async function lockOn(ceph: CephService, node: string, paths: string[]) {
  const proc = ceph.spawn(node, [process.execPath, WORKER, ...paths], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let text = "";
  const decoder = new TextDecoder();
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const at = text.indexOf("\n");
      if (at >= 0) {
        const line = text.slice(0, at);
        text = text.slice(at + 1);
        return line;
      }
      const chunk = await reader.read();
      if (chunk.done)
        throw new Error(`flock worker ended: ${await new Response(proc.stderr).text()}`);
      text += decoder.decode(chunk.value, { stream: true });
    }
  };
  const outcomes = JSON.parse(await nextLine()) as Record<string, string>;
  const release = async () => {
    await proc.stdin.end();
    expect(await nextLine()).toBe("released");
    expect(await proc.exited).toBe(0);
  };
  return { outcomes, release };
}

test(
  "flock LOCK_EX|LOCK_NB taken through one ceph-fuse client is refused through the other, and free once closed",
  async () => {
    const ceph = await cluster();
    const dir = join(ceph.mount, `flock-${process.pid}`);
    const files = ["f1", "f2", "f3"].map((f) => join(dir, f));
    const made = await ceph.exec("node-a", [
      "sh",
      "-c",
      `mkdir -p ${dir} && touch ${files.join(" ")}`,
    ]);
    expect(made.code).toBe(0);
    const a = await lockOn(ceph, "node-a", files);
    expect(Object.values(a.outcomes)).toEqual(["locked", "locked", "locked"]);
    const b = await lockOn(ceph, "node-b", files);
    expect(Object.values(b.outcomes)).toEqual(["busy", "busy", "busy"]);
    await b.release();
    // The same client, another open file description: refused too (flock is per description).
    const a2 = await lockOn(ceph, "node-a", files);
    expect(Object.values(a2.outcomes)).toEqual(["busy", "busy", "busy"]);
    await a2.release();
    await a.release();
    const b2 = await lockOn(ceph, "node-b", files);
    expect(Object.values(b2.outcomes)).toEqual(["locked", "locked", "locked"]);
    await b2.release();
  },
  TIMEOUT,
);

test(
  "a flock holder killed with SIGKILL frees the lock for the other client",
  async () => {
    const ceph = await cluster();
    const file = join(ceph.mount, `flock-kill-${process.pid}`);
    expect((await ceph.exec("node-a", ["touch", file])).code).toBe(0);
    const holder = ceph.spawn("node-a", [process.execPath, WORKER, file], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = holder.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("locked");
    holder.kill("SIGKILL");
    await holder.exited;
    const b = await lockOn(ceph, "node-b", [file]);
    expect(Object.values(b.outcomes)).toEqual(["locked"]);
    await b.release();
  },
  TIMEOUT,
);
