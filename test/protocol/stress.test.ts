/**
 * Stress: 3 real node processes, 300 files submitted to all three twice over, random network
 * faults on every node's S3 connection; an independent checker then walks the source tree and
 * the bucket and asserts the invariants. Prints the counts it checked.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkInvariants, startCluster } from "../cluster.ts";
import { lastJsonLine, randomBytes } from "../helpers.ts";

test("3 nodes, 300 files submitted to all three twice, random faults: invariants hold", async () => {
  const nodes = ["a", "b", "c"];
  await using c = await startCluster(nodes, {
    migrate: { concurrency: 8, uploadRetries: 0, uploadRetryBaseMs: 5 },
  });
  for (let i = 0; i < 300; i++)
    c.box.file(`s/${i % 17}/${i}.bin`, randomBytes(512 + ((i * 37) % 3000), i + 1));
  for (let round = 0; round < 2; round++)
    for (const node of nodes) await c.submit(node, [c.box.src]);
  for (const [i, node] of nodes.entries()) c.proxies[node]?.setFlaky(0.08, 1000 + i);
  for (let round = 0; round < 3; round++) {
    // Network faults are outcomes, never crashes of the run: exit 0, or 1 with the summary
    // saying which outcomes need an operator (failed attempts).
    const runs = await Promise.all(nodes.map((n) => c.run(n)));
    const ok = (r: { code: number; stdout: string }) =>
      r.code === 0 || (r.code === 1 && lastJsonLine(r.stdout).needsOperator?.length > 0);
    expect(runs.map((r) => (ok(r) ? "ok" : r.stderr.slice(-500)))).toEqual(["ok", "ok", "ok"]);
  }
  for (const node of nodes) c.proxies[node]?.setMode("pass");
  const rounds = await c.quiesce();
  const report = await checkInvariants(c);
  const withEvent = new Set<string>();
  let migrated = 0;
  let failed = 0;
  let busy = 0;
  for (const node of nodes) {
    const dir = join(c.box.spool, "nodes", node, "outbox");
    for (const name of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, name), "utf8").split("\n").filter(Boolean)) {
        const { outcome, path } = JSON.parse(line);
        if (outcome === "migrated") {
          migrated++;
          withEvent.add(path);
        }
        if (outcome === "failed") failed++;
        if (outcome === "busy") busy++;
      }
    }
  }
  const cuts = nodes.reduce((n, node) => n + (c.proxies[node]?.cuts ?? 0), 0);
  console.log(
    `stress: ${report.files} files, ${report.committed} committed, ${report.objects} objects, ${migrated} migrated events, ${failed} failed attempts, ${busy} busy, ${cuts} connections cut, ${rounds} quiesce rounds, ${report.violations.length} violations`,
  );
  expect(report.violations).toEqual([]);
  expect(report.committed).toBe(300);
  expect(report.objects).toBe(300);
  // Every commit has its migrated event in some node's outbox.
  expect(withEvent.size).toBe(300);
  expect(cuts).toBeGreaterThan(0);
});
