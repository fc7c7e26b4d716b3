/**
 * The Ceph test service itself: two nodes are two CephFS clients at one path, their races have
 * one winner, RGW stores objects, and nothing listens off loopback. If Ceph cannot start, every
 * test here fails with the reason (never a silent skip).
 */
import { afterAll, expect, test } from "bun:test";
import { basename, join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { CephService } from "../services/ceph.ts";
import { cephService } from "../services/shared.ts";

const WORKER = join(import.meta.dir, "race_worker.ts");
/** A lone `bun test` of this file starts its own cluster in the first test (cold: install too). */
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

let dirs = 0;
/** A fresh directory on CephFS, made through node-a. */
async function freshDir(ceph: CephService, name: string): Promise<string> {
  const dir = join(ceph.mount, `${name}-${process.pid}-${++dirs}`);
  await mustExec(ceph, "node-a", ["mkdir", "-p", dir]);
  return dir;
}

async function mustExec(ceph: CephService, node: string, cmd: string[]): Promise<string> {
  const result = await ceph.exec(node, cmd);
  if (result.code !== 0) throw new Error(`${cmd.join(" ")} on ${node}: ${result.stderr}`);
  return result.stdout;
}

/** Runs race_worker on every node at once (released together) and returns each one's outcomes. */
async function race(
  ceph: CephService,
  sides: { node: string; args: string[] }[],
): Promise<Record<string, string>[]> {
  const procs = sides.map(({ node, args }) =>
    ceph.spawn(node, [process.execPath, WORKER, ...args], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  const readers = procs.map((p) => p.stdout.getReader());
  const decoder = new TextDecoder();
  const buffers = procs.map(() => "");
  const readLine = async (i: number) => {
    for (;;) {
      const newline = buffers[i]?.indexOf("\n") ?? -1;
      if (newline >= 0) {
        const line = buffers[i]?.slice(0, newline) ?? "";
        buffers[i] = buffers[i]?.slice(newline + 1) ?? "";
        return line;
      }
      const chunk = await readers[i]?.read();
      if (!chunk || chunk.done)
        throw new Error(`race worker ${i} ended: ${await new Response(procs[i]?.stderr).text()}`);
      buffers[i] += decoder.decode(chunk.value, { stream: true });
    }
  };
  for (let i = 0; i < procs.length; i++) expect(await readLine(i)).toBe("ready");
  for (const p of procs) p.stdin.write("go\n");
  for (const p of procs) await p.stdin.end();
  const results = await Promise.all(procs.map(async (_, i) => JSON.parse(await readLine(i))));
  for (const p of procs) expect(await p.exited).toBe(0);
  return results;
}

test(
  "a file written through node-a's client is visible through node-b's",
  async () => {
    const ceph = await cluster();
    const dir = await freshDir(ceph, "visible");
    await mustExec(ceph, "node-a", ["sh", "-c", `printf 'from a' > ${dir}/f && sync`]);
    expect(await mustExec(ceph, "node-b", ["cat", `${dir}/f`])).toBe("from a");
    // Two client sessions, not one: each namespace has its own ceph-fuse mount at the same path.
    const mounts = await Promise.all(
      ceph.nodes.map((n) =>
        mustExec(ceph, n.name, ["grep", ` ${ceph.mount} `, "/proc/self/mountinfo"]),
      ),
    );
    expect(mounts.every((m) => m.includes("fuse.ceph-fuse"))).toBe(true);
    expect(new Set(mounts.map((m) => m.split(" ")[2])).size).toBe(ceph.nodes.length);
  },
  TIMEOUT,
);

test(
  "setxattr(XATTR_CREATE) of one name from two clients at once has exactly one winner",
  async () => {
    const ceph = await cluster();
    const dir = await freshDir(ceph, "xattr");
    const files = Array.from({ length: 50 }, (_, i) => join(dir, `f${i}`));
    await mustExec(ceph, "node-a", ["touch", ...files]);
    const [a, b] = await race(ceph, [
      { node: "node-a", args: ["xattr", "node-a", ...files] },
      { node: "node-b", args: ["xattr", "node-b", ...files] },
    ]);
    for (const file of files) {
      expect([a?.[file], b?.[file]].sort()).toEqual(["lost", "won"]);
      const winner = a?.[file] === "won" ? "node-a" : "node-b";
      for (const node of ["node-a", "node-b"]) {
        const seen = await mustExec(ceph, node, [
          "getfattr",
          "--only-values",
          "-n",
          "user.tiermv.lock",
          file,
        ]);
        expect(seen).toBe(winner);
      }
    }
  },
  TIMEOUT,
);

test(
  "a rename of one spool file from two clients has exactly one winner",
  async () => {
    const ceph = await cluster();
    const dir = await freshDir(ceph, "spool");
    const pending = join(dir, "pending");
    const running = { "node-a": join(dir, "running-a"), "node-b": join(dir, "running-b") };
    await mustExec(ceph, "node-a", ["mkdir", pending, running["node-a"], running["node-b"]]);
    const tasks = Array.from({ length: 50 }, (_, i) => join(pending, `t${i}.task`));
    await mustExec(ceph, "node-a", ["touch", ...tasks]);
    const [a, b] = await race(ceph, [
      { node: "node-a", args: ["rename", running["node-a"], ...tasks] },
      { node: "node-b", args: ["rename", running["node-b"], ...tasks] },
    ]);
    for (const task of tasks) expect([a?.[task], b?.[task]].sort()).toEqual(["lost", "won"]);
    // Both clients agree on where every task went.
    for (const node of ["node-a", "node-b"]) {
      const listed = (
        await mustExec(ceph, node, [
          "sh",
          "-c",
          `ls ${pending}; echo --; ls ${running["node-a"]}; echo --; ls ${running["node-b"]}`,
        ])
      ).split("--\n");
      expect(listed[0]).toBe("");
      const wonA = tasks.filter((t) => a?.[t] === "won").map((t) => basename(t));
      expect((listed[1] ?? "").split("\n").filter(Boolean).sort()).toEqual(wonA.sort());
      expect((listed[2] ?? "").split("\n").filter(Boolean).length).toBe(tasks.length - wonA.length);
    }
  },
  TIMEOUT,
);

test(
  "an object PUT to RGW with the AWS SDK reads back, and a versioned bucket keeps versions",
  async () => {
    const ceph = await cluster();
    const client = ceph.s3Client();
    try {
      const bucket = await ceph.createBucket();
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: "dir/a.txt", Body: "payload" }),
      );
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "dir/a.txt" }));
      expect(await got.Body?.transformToString()).toBe("payload");

      const versioned = await ceph.createBucket({ versioned: true });
      const first = await client.send(
        new PutObjectCommand({ Bucket: versioned, Key: "k", Body: "one" }),
      );
      const second = await client.send(
        new PutObjectCommand({ Bucket: versioned, Key: "k", Body: "two" }),
      );
      expect(first.VersionId).toBeTruthy();
      expect(second.VersionId).not.toBe(first.VersionId);
      const old = await client.send(
        new GetObjectCommand({ Bucket: versioned, Key: "k", VersionId: first.VersionId }),
      );
      expect(await old.Body?.transformToString()).toBe("one");
    } finally {
      client.destroy();
    }
  },
  TIMEOUT,
);

test(
  "a frozen node's calls block until it is thawed, while another node works on its own files",
  async () => {
    const ceph = await cluster();
    const dirA = await freshDir(ceph, "freeze-a");
    // node-b works in a directory that node-a never touched: files whose capabilities node-a
    // holds would block node-b too, until the MDS evicts the frozen client (docs/ceph.md).
    const dirB = join(ceph.mount, `freeze-b-${process.pid}`);
    await mustExec(ceph, "node-b", ["mkdir", dirB]);
    ceph.freeze("node-a");
    try {
      const stat = ceph.spawn("node-a", ["stat", join(dirA, "missing")], {
        stdout: "pipe",
        stderr: "pipe",
      });
      await mustExec(ceph, "node-b", ["sh", "-c", `echo b > ${dirB}/f && cat ${dirB}/f`]);
      // A bounded wait is the assertion here: the call must still be blocked after it.
      const blocked = await Promise.race([
        stat.exited.then(() => false),
        Bun.sleep(1000).then(() => true),
      ]);
      expect(blocked).toBe(true);
      ceph.thaw("node-a");
      expect(await stat.exited).toBe(1); // "missing" does not exist: the call returned once thawed
      await mustExec(ceph, "node-a", ["touch", join(dirA, "after-thaw")]);
    } finally {
      ceph.thaw("node-a");
    }
  },
  TIMEOUT,
);

test(
  "a node frozen while another needs its capabilities is evicted; after a remount it sees the other's write",
  async () => {
    const ceph = await cluster();
    const dir = await freshDir(ceph, "evict");
    // fsync: an evicted client's unflushed writes are discarded with its session (this test once
    // read "b" when node-a's "a" was still only in its ceph-fuse cache at the freeze).
    await mustExec(ceph, "node-a", ["sh", "-c", `printf a > ${dir}/held && sync ${dir}/held`]);
    const before = ceph.fusePid("node-a");
    ceph.freeze("node-a");
    const began = Date.now();
    try {
      // node-b needs the capabilities node-a holds: it waits for the MDS to evict node-a.
      await mustExec(ceph, "node-b", ["sh", "-c", `printf b >> ${dir}/held`]);
      expect(Date.now() - began).toBeGreaterThan(20_000);
    } finally {
      ceph.thaw("node-a");
    }
    // Evicted and blocklisted (Ceph's default): the thawed client's mount refuses every call.
    const dead = await ceph.exec("node-a", ["cat", `${dir}/held`]);
    expect(dead.code).not.toBe(0);
    expect(dead.stderr).toContain("Cannot send after transport endpoint shutdown");
    await ceph.remount("node-a");
    expect(ceph.fusePid("node-a")).not.toBe(before);
    expect(await mustExec(ceph, "node-a", ["cat", `${dir}/held`])).toBe("ab");
    await mustExec(ceph, "node-a", ["touch", `${dir}/after`]);
  },
  TIMEOUT,
);

test(
  "a CephFS quota set on a directory is seen by every client",
  async () => {
    const ceph = await cluster();
    const dir = await freshDir(ceph, "quota");
    await ceph.setQuota(dir, 1 << 20);
    const seen = await mustExec(ceph, "node-b", [
      "getfattr",
      "--only-values",
      "-n",
      "ceph.quota.max_bytes",
      dir,
    ]);
    expect(seen).toBe(String(1 << 20));
  },
  TIMEOUT,
);

test(
  "every daemon and client listens on loopback only",
  async () => {
    const ceph = await cluster();
    const pids = new Set([
      ...ceph.daemons.map((d) => d.pid),
      ...ceph.nodes.map((n) => ceph.fusePid(n.name)),
    ]);
    const ss = Bun.spawnSync(["ss", "-H", "-ltnp"]).stdout.toString();
    const ours = ss
      .split("\n")
      .filter((line) => [...line.matchAll(/pid=(\d+)/g)].some((m) => pids.has(Number(m[1]))));
    expect(ours.length).toBeGreaterThan(5);
    for (const line of ours) expect(line.split(/\s+/)[3]).toStartWith("127.0.0.1:");
  },
  TIMEOUT,
);
