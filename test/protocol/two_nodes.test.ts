/**
 * The four outcomes of two nodes on the same files, with real node processes, a real s3proxy
 * and network faults injected by per-node TCP proxies. After each: one committed state per
 * file, its object present and byte-identical, no unreferenced object, no lock left.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { checkInvariants, expectAllCommitted, startCluster } from "../cluster.ts";
import { cli, randomBytes, runJson, waitFor } from "../helpers.ts";
import { holderOf, stateOf } from "../records.ts";
import { s3Client } from "../services/shared.ts";

function makeFiles(
  c: { box: { file(rel: string, data: Uint8Array): string } },
  count: number,
  size = 4096,
) {
  return Array.from({ length: count }, (_, i) =>
    c.box.file(`set/${i}.bin`, randomBytes(size + i, i + 7)),
  );
}

async function objectKeys(endpoint: string, bucket: string): Promise<string[]> {
  const client = s3Client(endpoint);
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  client.destroy();
  // s3proxy's filesystem backend lists directories as "dir/" keys: not objects of ours.
  return (out.Contents ?? []).map((o) => o.Key ?? "").filter((k) => !k.endsWith("/"));
}

function migratedEvents(spool: string, nodes: string[]): Map<string, Set<string>> {
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

test("success/success: both nodes run the same files at once; each file is committed exactly once", async () => {
  await using c = await startCluster(["a", "b"]);
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
  for (const path of files) expect(events.get(path)?.size).toBe(1);
});

test("fail/success: the failed attempt keeps its epoch, the other node is busy, and after rollback it succeeds", async () => {
  await using c = await startCluster(["a", "b"]);
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
  expect((await objectKeys(c.endpoint, c.bucket)).length).toBe(6); // stray objects of a's attempts
  const b = (await c.runJson("b")).json;
  expect(b.counts.busy).toBe(6);
  expect(c.proxies.b?.connections).toBe(0); // busy means no upload at all
  c.proxies.a?.setMode("pass");
  await expectAllCommitted(c, 6);
});

test("success/fail: while one node holds the locks the failing node never uploads, and ends skipping", async () => {
  await using c = await startCluster(["a", "b"]);
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

test("fail/fail: each failure is rolled back under its own lock; nothing is left, then a clean run commits all", async () => {
  await using c = await startCluster(["a", "b"]);
  const files = makeFiles(c, 5);
  await c.submit("a", [c.box.src]);
  await c.submit("b", [c.box.src]);
  c.proxies.a?.setMode("cut");
  c.proxies.b?.setMode("cut");
  expect((await c.runJson("a")).json.counts.failed).toBe(5);
  expect((await c.runJson("b")).json.counts.busy).toBe(5);
  c.proxies.a?.setMode("pass");
  const rolledA = await cli(["rollback", "--node", "a", "--config", c.configOf("a")], c.box.env);
  expect(rolledA.code).toBe(0);
  expect(await objectKeys(c.endpoint, c.bucket)).toEqual([]);
  // b's retry task now wins the locks and fails in turn; a's retry is busy.
  expect((await c.runJson("b")).json.counts.failed).toBe(5);
  for (const path of files) expect((await holderOf(path))?.node).toBe("b");
  expect((await c.runJson("a")).json.counts.busy).toBe(5);
  c.proxies.b?.setMode("pass");
  expect(
    (await cli(["rollback", "--node", "b", "--config", c.configOf("b")], c.box.env)).code,
  ).toBe(0);
  expect(await objectKeys(c.endpoint, c.bucket)).toEqual([]);
  for (const path of files) {
    expect(await holderOf(path)).toBeNull();
    expect(await stateOf(path)).toBeNull();
  }
  await expectAllCommitted(c, 5);
});

test("the incident: a duplicated request on two nodes, one failing after its upload reached S3, loses no committed object", async () => {
  for (let round = 0; round < 3; round++) {
    await using c = await startCluster(["a", "b"]);
    const files = makeFiles(c, 30);
    await c.submit("a", [c.box.src]);
    await c.submit("b", [c.box.src]);
    c.proxies.a?.setFlaky(0.5, round + 11);
    await Promise.all([c.run("a"), c.run("b")]);
    c.proxies.a?.setMode("pass");
    await expectAllCommitted(c, files.length);
    const client = s3Client(c.endpoint);
    for (const path of files) {
      const state = await stateOf(path);
      const head = await client.send(new HeadObjectCommand({ Bucket: c.bucket, Key: state?.key }));
      expect(head.Metadata?.attempt).toBe(state?.attempt);
    }
    client.destroy();
  }
});

test("a configuration error (no such bucket) stops the task and leaves every file untouched", async () => {
  await using c = await startCluster(["a"]);
  const files = makeFiles(c, 3);
  c.box.setConfig({ target: "s3://no-such-bucket-tiermv/x" });
  await cli(["submit", "--node", "a", c.box.src], c.box.env);
  const result = await runJson(["run", "--node", "a", "--json"], c.box.env);
  expect(result.code).toBe(1); // a configuration error needs an operator
  const s = result.json;
  expect(s.counts.config).toBe(3);
  expect(s.tasks[0].result).toBe("failed");
  expect(s.tasks[0].why).toContain("NoSuchBucket");
  for (const path of files) {
    expect(await holderOf(path)).toBeNull();
    expect(await stateOf(path)).toBeNull();
  }
});
