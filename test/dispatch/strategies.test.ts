import { expect, test } from "bun:test";
import { pickNode, placementKey } from "../../jobs/plan/rendezvous.ts";
import { CLI_RUNTIMES, cliEnv } from "../cli_runtime.ts";
import { cli, sandbox } from "../helpers.ts";
import { allTasks } from "./spool_view.ts";

const paths = Array.from(
  { length: 10_000 },
  (_, i) => `/data/project-${i % 97}/run-${i % 13}/file-${i}.bin`,
);

test("hash is stable and spreads 10k paths over 4 nodes within 10%", () => {
  const nodes = ["n1", "n2", "n3", "n4"];
  const counts = new Map<string, number>();
  for (const p of paths) counts.set(pickNode(nodes, p), (counts.get(pickNode(nodes, p)) ?? 0) + 1);
  for (const node of nodes) {
    expect(counts.get(node) ?? 0).toBeGreaterThan(2250);
    expect(counts.get(node) ?? 0).toBeLessThan(2750);
  }
  expect(paths.map((p) => pickNode(nodes, p))).toEqual(
    paths.map((p) => pickNode([...nodes].reverse(), p)),
  );
});

test("adding a fifth node moves about a fifth of the paths, all of them to the new node", () => {
  const four = ["n1", "n2", "n3", "n4"];
  const five = [...four, "n5"];
  let moved = 0;
  for (const p of paths) {
    const before = pickNode(four, p);
    const after = pickNode(five, p);
    if (before !== after) {
      moved++;
      expect(after).toBe("n5");
    }
  }
  expect(moved / paths.length).toBeGreaterThan(0.17);
  expect(moved / paths.length).toBeLessThan(0.23);
});

function tree(box: ReturnType<typeof sandbox>, dirs: number, perDir: number): string[] {
  const out: string[] = [];
  for (let d = 0; d < dirs; d++)
    for (let f = 0; f < perDir; f++) out.push(box.file(`d${d}/f${f}.txt`, `${d}/${f}`));
  return out;
}

test.each(CLI_RUNTIMES)(
  "dispatch by hash: every file in exactly one task, on the node that wins its path, tasks cut at maxFiles (%s)",
  async (runtime) => {
    const box = sandbox({ target: "file:///tmp/unused", extra: { dispatch: { maxFiles: 25 } } });
    const files = tree(box, 6, 40);
    const result = await cli(["submit", "--json", box.src], box.env, { runtime });
    expect(result.code).toBe(0);
    const tasks = allTasks(box.spool);
    const seen = tasks.flatMap((t) => t.paths);
    expect(seen.sort()).toEqual([...files].sort());
    for (const t of tasks) {
      expect(t.paths.length).toBeLessThanOrEqual(25);
      for (const p of t.paths) expect(pickNode(box.config.nodes, p)).toBe(t.node);
    }
    expect(new Set(tasks.map((t) => t.node)).size).toBe(3);
  },
);

test("dispatch by hash-dir keeps each directory on one node", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  tree(box, 8, 10);
  expect((await cli(["submit", "--strategy", "hash-dir", box.src], box.env)).code).toBe(0);
  const nodeOfDir = new Map<string, string>();
  for (const t of allTasks(box.spool)) {
    for (const p of t.paths) {
      const dir = placementKey("hash-dir", p);
      expect(nodeOfDir.get(dir) ?? t.node).toBe(t.node);
      nodeOfDir.set(dir, t.node);
      expect(pickNode(box.config.nodes, dir)).toBe(t.node);
    }
  }
  expect(nodeOfDir.size).toBe(8);
});

test("round-robin gives `batch` consecutive tasks to each node in turn; --node pins a request", async () => {
  const box = sandbox({
    target: "file:///tmp/unused",
    extra: { dispatch: { maxFiles: 10, batch: 2 } },
  });
  tree(box, 1, 100);
  expect((await cli(["submit", "--strategy", "round-robin", box.src], box.env)).code).toBe(0);
  const tasks = allTasks(box.spool);
  expect(tasks.length).toBe(10);
  expect(tasks.map((t) => t.node)).toEqual(["a", "a", "b", "b", "c", "c", "a", "a", "b", "b"]);
  const pinned = await cli(["submit", "--node", "c", "--request-id", "pinned", box.src], box.env);
  expect(pinned.code).toBe(0);
  const mine = allTasks(box.spool).filter((t) => t.requestId === "pinned");
  expect(new Set(mine.map((t) => t.node))).toEqual(new Set(["c"]));
  expect(mine.reduce((n, t) => n + t.paths.length, 0)).toBe(100);
});

test("--from streams paths from a file or stdin", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  const files = tree(box, 2, 5);
  const list = `${box.dir}/list.txt`;
  await Bun.write(list, `${files.join("\n")}\n\n`);
  expect((await cli(["submit", "--from", list, "--request-id", "from-file"], box.env)).code).toBe(
    0,
  );
  const proc = Bun.spawn(
    [process.execPath, "cli/main.ts", "submit", "--from", "-", "--request-id", "from-stdin"],
    {
      cwd: `${import.meta.dir}/../..`,
      env: { ...cliEnv("bun"), ...process.env, ...box.env },
      stdin: new Blob([files.slice(0, 3).join("\n")]),
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  expect(await proc.exited).toBe(0);
  const byRequest = (id: string) =>
    allTasks(box.spool)
      .filter((t) => t.requestId === id)
      .flatMap((t) => t.paths);
  expect(byRequest("from-file").sort()).toEqual([...files].sort());
  expect(byRequest("from-stdin").sort()).toEqual(files.slice(0, 3).sort());
});
