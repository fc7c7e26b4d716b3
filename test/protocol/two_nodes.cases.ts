/**
 * The four outcomes of two nodes on the same files, with real node processes, a real store
 * and network faults injected by per-node TCP proxies. After each: one committed state per
 * file, its object present and byte-identical, no unreferenced object, no lock left.
 * Defined once for every cluster kind (test/cluster_kinds.ts): two_nodes.test.ts runs them on
 * local disk and s3proxy, test/ceph/two_nodes.test.ts on CephFS (each node its own client) and RGW.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { CLI_RUNTIMES, type CliRuntime } from "../cli_runtime.ts";
import { type Cluster, checkInvariants, expectAllCommitted, startCluster } from "../cluster.ts";
import type { ClusterKind } from "../cluster_kinds.ts";
import { randomBytes, waitFor } from "../helpers.ts";
import { holderOf, stateOf } from "../records.ts";

function makeFiles(
  c: { box: { file(rel: string, data: Uint8Array): string } },
  count: number,
  size = 4096,
) {
  return Array.from({ length: count }, (_, i) =>
    c.box.file(`set/${i}.bin`, randomBytes(size + i, i + 7)),
  );
}

async function objectKeys(c: Cluster): Promise<string[]> {
  const client = c.s3();
  const out = await client.send(new ListObjectsV2Command({ Bucket: c.bucket }));
  client.destroy();
  // s3proxy's filesystem backend lists directories as "dir/" keys: not objects of ours; the
  // target's probe keys are tiermv's own, not a file's.
  return (out.Contents ?? [])
    .map((o) => o.Key ?? "")
    .filter((k) => !k.endsWith("/") && !k.includes(".tiermv-probe/"));
}

/** Migrated event ids by path (as the nodes name it). */
export function migratedEvents(spool: string, nodes: string[]): Map<string, Set<string>> {
  const byPath = new Map<string, Set<string>>();
  for (const node of nodes) {
    const dir = join(spool, "nodes", node, "outbox");
    for (const name of require("node:fs").readdirSync(dir) as string[]) {
      for (const line of readFileSync(join(dir, name), "utf8").split("\n")) {
        if (!line) continue;
        const event = JSON.parse(line);
        if (event.outcome !== "migrated") continue;
        const ids = byPath.get(event.path) ?? new Set<string>();
        ids.add(event.eventId);
        byPath.set(event.path, ids);
      }
    }
  }
  return byPath;
}

// Two Bun nodes, and on the local kind a Bun node racing a Deno node too (the protocol must not
// care which runtime holds a file's epoch).
const PAIRS: [string, Record<string, CliRuntime>][] = [
  ["bun and bun", { a: "bun", b: "bun" }],
  ["bun and deno", { a: "bun", b: "deno" }],
];

// A Deno node's held epoch makes the Bun node busy, as a Bun node's does.
const FAILING_FIRST: [string, Record<string, CliRuntime>][] = [
  ["bun fails, bun busy", { a: "bun", b: "bun" }],
  ["deno fails, bun busy", { a: "deno", b: "bun" }],
];

export function twoNodeTests(kind: ClusterKind): void {
  // The Deno twins run on the local kind (the Ceph kind's nodes run Bun only).
  const local = kind.label === "";
  const pairs = local ? PAIRS : PAIRS.slice(0, 1);
  const failingFirst = local ? FAILING_FIRST : FAILING_FIRST.slice(0, 1);
  const runtimes: CliRuntime[] = local ? [...CLI_RUNTIMES] : ["bun"];

  test.each(pairs)(
    `${kind.label}success/success (%s): both nodes run the same files at once; each file is committed exactly once`,
    async (_, runtimes) => {
      await using c = await startCluster(["a", "b"], {}, kind, { runtimes });
      const files = makeFiles(c, 40);
      await c.submit("a", [c.box.src]);
      await c.submit("b", [c.box.src]);
      const [ra, rb] = await Promise.all([c.run("a"), c.run("b")]);
      expect(ra.code).toBe(0);
      expect(rb.code).toBe(0);
      const report = await expectAllCommitted(c, 40);
      expect(report.objects).toBe(40);
      // Exactly one migrated event (one commit) per file across both nodes.
      const events = migratedEvents(c.box.spool, c.nodes);
      expect(events.size).toBe(40);
      for (const path of files) expect(events.get(c.box.nodePath(path))?.size).toBe(1);
    },
  );

  test.each(failingFirst)(
    `${kind.label}fail/success (%s): the failed attempt keeps its epoch, the other node is busy, and after rollback it succeeds`,
    async (_, runtimes) => {
      await using c = await startCluster(["a", "b"], {}, kind, { runtimes });
      const files = makeFiles(c, 6);
      await c.submit("a", [c.box.src]);
      await c.submit("b", [c.box.src]);
      c.proxies.a?.setMode("cut-writes"); // uploads reach s3proxy; their responses are lost
      const a = (await c.runJson("a")).json;
      expect(a.counts.failed).toBe(6);
      // Every PUT went unanswered: ambiguous, so the cleanups wait for the late-write window and
      // the epochs stay held meanwhile.
      expect(a.rollback.at(-1).waiting).toBe(6);
      for (const path of files) expect((await holderOf(path))?.node).toBe("a");
      expect((await objectKeys(c)).length).toBe(6); // stray objects of a's attempts
      const b = (await c.runJson("b")).json;
      expect(b.counts.busy).toBe(6);
      expect(c.proxies.b?.connections).toBe(0); // busy means no upload at all
      c.proxies.a?.setMode("pass");
      await expectAllCommitted(c, 6);
    },
  );

  test(`${kind.label}success/fail: while one node holds the locks the failing node never uploads, and ends skipping`, async () => {
    await using c = await startCluster(["a", "b"], {}, kind);
    const files = makeFiles(c, 6, 64 * 1024);
    await c.submit("a", [c.box.src]);
    await c.submit("b", [c.box.src]);
    c.proxies.a?.setMode("hold");
    c.proxies.b?.setMode("refuse");
    const runA = c.spawnRun("a");
    await waitFor(async () => {
      for (const path of files) if ((await holderOf(path))?.node !== "a") return false;
      return (c.proxies.a?.bytesUp ?? 0) > 6 * 64 * 1024;
    }, "node a to lock and upload every file");
    const b = (await c.runJson("b")).json;
    expect(b.counts.busy).toBe(6);
    c.proxies.a?.release();
    expect(await runA.exited).toBe(0);
    for (const path of files) expect((await stateOf(path))?.node).toBe("a");
    await c.quiesce();
    expect(c.proxies.b?.connections).toBe(0);
    const report = await checkInvariants(c);
    expect(report.violations).toEqual([]);
    expect(report.committed).toBe(6);
  });

  test.each(runtimes)(
    `${kind.label}fail/fail (%s): each failure after a cut connection is rolled back under its own lock; nothing is left, then a clean run commits all`,
    async (runtime) => {
      await using c = await startCluster(["a", "b"], {}, kind, {
        runtimes: { a: runtime, b: runtime },
      });
      const files = makeFiles(c, 5);
      await c.submit("a", [c.box.src]);
      await c.submit("b", [c.box.src]);
      // Every write of the files is refused with an answer (503; the probe passes): unambiguous
      // failures, which each node's own rollback (at the end of its run) cleans at once.
      c.proxies.a?.setMode("error-writes");
      c.proxies.b?.setMode("error-writes");
      const a = (await c.runJson("a")).json;
      expect(a.counts.failed).toBe(5);
      expect(a.rollback.at(-1)).toMatchObject({ cleaned: 5, retried: 5 });
      for (const path of files) expect(await holderOf(path)).toBeNull();
      // b's task now takes the freed files and fails in turn, under its own epochs.
      const b = (await c.runJson("b")).json;
      expect(b.counts.failed).toBe(5);
      expect(b.rollback.at(-1)).toMatchObject({ cleaned: 5 });
      expect(await objectKeys(c)).toEqual([]);
      for (const path of files) {
        expect(await holderOf(path)).toBeNull();
        expect(await stateOf(path)).toBeNull();
      }
      c.proxies.a?.setMode("pass");
      c.proxies.b?.setMode("pass");
      await expectAllCommitted(c, 5);
    },
  );

  test(`${kind.label}the incident: a duplicated request on two nodes, one failing after its upload reached S3, loses no committed object`, async () => {
    for (let round = 0; round < kind.rounds; round++) {
      await using c = await startCluster(["a", "b"], {}, kind);
      const files = makeFiles(c, 30);
      await c.submit("a", [c.box.src]);
      await c.submit("b", [c.box.src]);
      c.proxies.a?.setFlaky(0.5, round + 11);
      await Promise.all([c.run("a"), c.run("b")]);
      c.proxies.a?.setMode("pass");
      await expectAllCommitted(c, files.length);
      const client = c.s3();
      for (const path of files) {
        const state = await stateOf(path);
        const head = await client.send(
          new HeadObjectCommand({ Bucket: c.bucket, Key: state?.key }),
        );
        expect(head.Metadata?.attempt).toBe(state?.attempt);
      }
      client.destroy();
    }
  });

  test(`${kind.label}a missing bucket (the target unavailable as a whole) stops the tick, the task stays pending, every file untouched`, async () => {
    await using c = await startCluster(["a"], {}, kind);
    const files = makeFiles(c, 3);
    c.setConfig({ target: "s3://no-such-bucket-tiermv/x" });
    await c.submit("a", [c.box.src]);
    const result = await c.runJson("a");
    expect(result.code).toBe(1); // an unavailable target needs an operator
    const s = result.json;
    expect(s.unavailable.what).toBe("target");
    expect(s.unavailable.error).toContain("NoSuchBucket");
    expect(s.counts).toMatchObject({ migrated: 0, failed: 0, error: 0 });
    expect(
      readdirSync(join(c.box.spool, "nodes/a/pending")).filter((n) => n.endsWith(".task")),
    ).toHaveLength(1);
    for (const path of files) {
      expect(await holderOf(path)).toBeNull();
      expect(await stateOf(path)).toBeNull();
    }
  });
}
