/**
 * Rebalance and reassign racing a node's claims, each a real `tiermv` process (on CephFS each on
 * its own client, so the metadata server decides every rename race between them): node a claims
 * its tasks one by one while node b's scheduler rebalances a's pending tasks to itself and an
 * operator's `reassign --from a --to b` moves the rest. Every task must end done exactly once and
 * every file be committed exactly once. Defined once for every cluster kind.
 */
import { expect, test } from "bun:test";
import { expectAllCommitted, startCluster } from "../cluster.ts";
import type { ClusterKind } from "../cluster_kinds.ts";
import { allTasks } from "../dispatch/spool_view.ts";
import { randomBytes } from "../helpers.ts";
import { migratedEvents } from "./two_nodes.cases.ts";

export function claimRaceTests(kind: ClusterKind): void {
  test(`${kind.label}rebalance and reassign racing node a's claims: every task runs exactly once and every file is committed once`, async () => {
    await using c = await startCluster(
      ["a", "b"],
      {
        dispatch: { maxFiles: 2 },
        rebalance: { threshold: 0, maxMoves: 1000 },
      },
      kind,
    );
    const files = Array.from({ length: 24 }, (_, i) =>
      c.box.file(`r/${i}.bin`, randomBytes(2000 + i, i + 13)),
    );
    expect((await c.submit("a", [c.box.src])).code).toBe(0);
    const submitted = allTasks(c.box.spool).map((t) => t.id);
    expect(submitted.length).toBe(12);
    // a's run claims; b's scheduler rebalances at the end of its (empty) tick; reassign from a
    // third process (on CephFS: the checker's client).
    const [a, b, moved] = await Promise.all([
      c.run("a"),
      c.cli("b", ["run", "--node", "b", "--rebalance", "--json"]),
      c.cli("c", ["reassign", "--from", "a", "--to", "b", "--config", c.box.configPath]),
    ]);
    expect([a.code, b.code, moved.code]).toEqual([0, 0, 0]);
    await expectAllCommitted(c, files.length);
    const tasks = allTasks(c.box.spool);
    expect(tasks.map((t) => t.id).sort()).toEqual([...submitted].sort());
    expect(tasks.every((t) => t.queue === "done")).toBe(true);
    expect(tasks.some((t) => t.node === "b")).toBe(true); // the race happened: b got tasks
    const events = migratedEvents(c.box.spool, c.nodes);
    for (const path of files) expect(events.get(c.box.nodePath(path))?.size).toBe(1);
  });
}
