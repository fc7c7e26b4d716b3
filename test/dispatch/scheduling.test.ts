import { expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { rebalanceOnce } from "../../jobs/rebalance.ts";
import { writeHeartbeat } from "../../jobs/spool/heartbeat.ts";
import { ensureNodeDirs, nodeDirs } from "../../jobs/spool/layout.ts";
import { claimTask } from "../../jobs/spool/queues.ts";
import { createRuntime } from "../../runtime/bun.ts";
import type { Runtime } from "../../runtime/types.ts";
import { cli, runJson, sandbox, spawnCli, waitFor } from "../helpers.ts";
import { clearRecords, stateOf } from "../records.ts";
import { allTasks } from "./spool_view.ts";

const rt = createRuntime();

test("rebalance racing a node's claims, 200 times: every task is claimed exactly once", async () => {
  const box = sandbox({
    target: "file:///tmp/unused",
    nodes: ["a", "b"],
    extra: { rebalance: { threshold: 0, maxMoves: 1000 } },
  });
  const ctx = createJobContext(rt, box.config, silentLog);
  const [a, b] = [nodeDirs(box.spool, "a"), nodeDirs(box.spool, "b")];
  await ensureNodeDirs(rt, a);
  await ensureNodeDirs(rt, b);
  for (let round = 0; round < 200; round++) {
    const names = Array.from(
      { length: 6 },
      (_, i) => `x${String(round).padStart(3, "0")}-${i}.task`,
    );
    for (const name of names) writeFileSync(join(a.pending, name), "{}\n");
    await writeHeartbeat(rt, b, "b");
    await writeHeartbeat(rt, a, "a");
    // Node a claims everything it sees while rebalance moves tasks to b, at the same time.
    const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
    const [claims, moves] = await Promise.all([
      Promise.all(
        names.map(async (n) => {
          await jitter();
          return claimTask(rt, a, n);
        }),
      ),
      rebalanceOnce(ctx),
    ]);
    const claimedByB = await Promise.all(moves.map((m) => claimTask(rt, b, m.task)));
    for (const [i, name] of names.entries()) {
      const inA = existsSync(join(a.running, name));
      const inB = existsSync(join(b.running, name));
      expect(Number(inA) + Number(inB)).toBe(1);
      expect(claims[i] || claimedByB[moves.findIndex((m) => m.task === name)]).toBe(true);
    }
    expect(readdirSync(a.pending).filter((n) => n.endsWith(".task"))).toEqual([]);
    expect(readdirSync(b.pending).filter((n) => n.endsWith(".task"))).toEqual([]);
  }
});

test("rebalance and a claim of the same task: whichever renames first gets it, the other skips it", async () => {
  const box = sandbox({
    target: "file:///tmp/unused",
    nodes: ["a", "b"],
    extra: { rebalance: { threshold: 0, maxMoves: 1000 } },
  });
  const [a, b] = [nodeDirs(box.spool, "a"), nodeDirs(box.spool, "b")];
  await ensureNodeDirs(rt, a);
  await ensureNodeDirs(rt, b);
  const names = ["t0", "t1", "t2", "t3", "t4", "t5"].map((t) => `${t}.task`);
  for (const name of names) writeFileSync(join(a.pending, name), "{}\n");
  await writeHeartbeat(rt, a, "a");
  await writeHeartbeat(rt, b, "b");
  // Rebalance moves the newest half (t3, t4, t5) to b. Node a claims t4 in the instant between
  // rebalance's choice and its rename: the claim wins t4; rebalance wins t3 and t5.
  const claimedFirst = new Map<string, boolean>();
  const racing: Runtime = {
    ...rt,
    fs: {
      ...rt.fs,
      async rename(from, to) {
        const name = basename(from);
        if (from.startsWith(a.pending) && to.startsWith(b.pending) && name === "t4.task")
          claimedFirst.set(name, await claimTask(rt, a, name));
        return rt.fs.rename(from, to);
      },
    },
  };
  const moves = await rebalanceOnce(createJobContext(racing, box.config, silentLog));
  expect(claimedFirst.get("t4.task")).toBe(true);
  expect(moves.map((m) => m.task)).toEqual(["t3.task", "t5.task"]);
  // Node a now claims all it had: the moved ones are gone from its pending/, which is no error.
  const claims = await Promise.all(names.map((n) => claimTask(rt, a, n)));
  expect(claims).toEqual([true, true, true, false, false, false]);
  expect(await Promise.all(moves.map((m) => claimTask(rt, b, m.task)))).toEqual([true, true]);
  for (const name of names) {
    const inA = existsSync(join(a.running, name));
    const inB = existsSync(join(b.running, name));
    expect(Number(inA) + Number(inB)).toBe(1);
  }
});

test("rebalance moves pending tasks from an overloaded node to the least loaded live node, never to a stale one", async () => {
  const box = sandbox({
    target: "file:///tmp/unused",
    extra: { rebalance: { threshold: 4, maxMoves: 3 } },
  });
  const ctx = createJobContext(rt, box.config, silentLog);
  const dirs = Object.fromEntries(["a", "b", "c"].map((n) => [n, nodeDirs(box.spool, n)]));
  for (const d of Object.values(dirs)) await ensureNodeDirs(rt, d);
  for (let i = 0; i < 10; i++) writeFileSync(join(dirs.a?.pending ?? "", `t${i}.task`), "{}\n");
  writeFileSync(join(dirs.b?.pending ?? "", "b0.task"), "{}\n");
  await writeHeartbeat(rt, dirs.a ?? nodeDirs(box.spool, "a"), "a");
  await writeHeartbeat(rt, dirs.b ?? nodeDirs(box.spool, "b"), "b");
  // c never wrote a heartbeat: not live, gets nothing although it is empty.
  const moves = await rebalanceOnce(ctx);
  expect(moves.length).toBe(3);
  for (const m of moves) expect(m).toMatchObject({ from: "a", to: "b" });
  expect(readdirSync(dirs.c?.pending ?? "").filter((n) => n.endsWith(".task"))).toEqual([]);
});

test("drain: running work finishes, nothing new is claimed, --watch exits; undrain resumes", async () => {
  const box = sandbox({ target: "file:///tmp/unused", extra: { schedule: { tickMs: 100 } } });
  box.setConfig({ target: `file://${box.dir}/out` });
  for (let i = 0; i < 5; i++) box.file(`w/${i}.txt`, `w${i}`);
  expect((await cli(["drain", "--node", "a"], box.env)).code).toBe(0);
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const status = JSON.parse((await cli(["status", "--json"], box.env)).stdout);
  expect(status.find((s: { node: string }) => s.node === "a")).toMatchObject({
    draining: true,
    pending: 1,
  });
  const watch = await runJson(["run", "--node", "a", "--watch", "--json"], box.env);
  expect(watch.code).toBe(0);
  expect(watch.json).toMatchObject({ draining: true, tasks: [] });
  expect(
    readdirSync(join(box.spool, "nodes/a/pending")).filter((n) => n.endsWith(".task")).length,
  ).toBe(1);
  expect((await cli(["undrain", "--node", "a"], box.env)).code).toBe(0);
  const run = await runJson(["run", "--node", "a", "--json"], box.env);
  expect(run.json.counts.migrated).toBe(5);
});

test("a second scheduler for the same node on one host exits 0 with a message", async () => {
  const box = sandbox({ target: "file:///tmp/unused", extra: { schedule: { tickMs: 50 } } });
  box.setConfig({ target: `file://${box.dir}/out` });
  const first = spawnCli(["run", "--node", "a", "--watch"], box.env);
  try {
    await waitFor(
      () => existsSync(join(box.spool, "nodes/a/heartbeat")),
      "the first scheduler's heartbeat",
    );
    const second = await cli(["run", "--node", "a", "--once"], box.env);
    expect(second.code).toBe(0);
    expect(second.stdout + second.stderr).toContain("already running");
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
  } finally {
    first.kill("SIGKILL");
  }
});

test("run --all and two run --node processes reach the same final state for the same input", async () => {
  const box = sandbox({
    target: "file:///tmp/unused",
    nodes: ["a", "b"],
    extra: { dispatch: { maxFiles: 7 } },
  });
  const files = Array.from({ length: 60 }, (_, i) =>
    box.file(`s/${i % 5}/${i}.txt`, `content ${i}`),
  );
  const finalState = async (mode: "all" | "nodes") => {
    // Same source tree and root (so the same placement), its own spool and target.
    const spool = join(box.dir, `spool-${mode}`);
    const out = join(box.dir, `out-${mode}`);
    box.setConfig({ spool, target: `file://${out}` });
    expect((await cli(["submit", "--request-id", "same", box.src], box.env)).code).toBe(0);
    if (mode === "all") expect((await cli(["run", "--all", "--once"], box.env)).code).toBe(0);
    else {
      const runs = await Promise.all(
        ["a", "b"].map((n) => cli(["run", "--node", n, "--once"], box.env)),
      );
      expect(runs.map((r) => r.code)).toEqual([0, 0]);
    }
    const states = [];
    for (const f of files) {
      const state = await stateOf(f);
      states.push({ key: state?.key, node: state?.node });
      await clearRecords(f);
    }
    const tasks = allTasks(spool).map((t) => ({ node: t.node, queue: t.queue, paths: t.paths }));
    const objects = readdirSync(out, { recursive: true, encoding: "utf8" })
      .filter((p) => p.endsWith(".txt"))
      .sort();
    return {
      tasks: tasks.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
      objects,
      states,
    };
  };
  const viaAll = await finalState("all");
  const viaNodes = await finalState("nodes");
  expect(viaAll.objects.length).toBe(60);
  expect(viaAll.tasks.every((t) => t.queue === "done")).toBe(true);
  expect(viaAll).toEqual(viaNodes);
});

test("reassign moves only pending tasks, by rename", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  for (let i = 0; i < 30; i++) box.file(`r/${i}.txt`, `${i}`);
  box.setConfig({ dispatch: { maxFiles: 10 } });
  await cli(["submit", "--node", "a", box.src], box.env);
  const a = nodeDirs(box.spool, "a");
  const [first] = readdirSync(a.pending)
    .filter((n) => n.endsWith(".task"))
    .sort();
  await claimTask(rt, a, first ?? "");
  const result = await cli(["reassign", "--from", "a", "--to", "b"], box.env);
  expect(result.code).toBe(0);
  const tasks = allTasks(box.spool);
  expect(tasks.filter((t) => t.node === "b" && t.queue === "pending").length).toBe(2);
  expect(tasks.filter((t) => t.node === "a").map((t) => t.queue)).toEqual(["running"]);
});
