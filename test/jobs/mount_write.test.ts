/**
 * Writes refused for the space or a read-only filesystem (EROFS, ENOSPC, EDQUOT) may be one
 * file's (a directory's quota, a read-only bind mount of one file) or the whole mount's: a write
 * probe on the source root decides (isolate.ts). Real read-only bind mounts (this suite runs as
 * root, as the Ceph suite does); each test unmounts what it mounted.
 */
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { cli, lastJsonLine, sandbox } from "../helpers.ts";
import { stateOf } from "../records.ts";

function mountReadOnly(path: string): () => void {
  const run = (args: string[]) => {
    const r = Bun.spawnSync(args);
    if (r.exitCode !== 0) throw new Error(`${args.join(" ")}: ${r.stderr.toString()}`);
  };
  run(["mount", "--bind", path, path]);
  run(["mount", "-o", "remount,ro,bind", path]);
  return () => run(["umount", path]);
}

function fileBox() {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  return box;
}

const tasksIn = (spool: string, queue: string) =>
  readdirSync(join(spool, "nodes/a", queue)).filter((n) => n.endsWith(".task"));

test("a read-only source mount (EROFS on the take): the write probe on the root is refused too, so the tick stops, the task waits in pending/ and no file has an error; once writable, all migrate", async () => {
  const box = fileBox();
  const files = ["a.txt", "b.txt", "c.txt"].map((n) => box.file(`d/${n}`, n));
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const unmount = mountReadOnly(box.src);
  let mounted = true;
  try {
    const run = await cli(["run", "--node", "a", "--once", "--json"], box.env);
    expect(run.code).toBe(1);
    const summary = lastJsonLine(run.stdout);
    expect(summary.counts).toMatchObject({ error: 0, migrated: 0 });
    expect(run.stderr).toContain("read-only");
    expect(run.stderr).toContain("remount it read-write");
    expect(tasksIn(box.spool, "pending")).toHaveLength(1);
    expect(tasksIn(box.spool, "failed")).toEqual([]);
    unmount();
    mounted = false;
    const again = await cli(["run", "--node", "a", "--once", "--json"], box.env);
    expect(lastJsonLine(again.stdout).counts).toMatchObject({ migrated: 3, error: 0 });
    for (const f of files) expect((await stateOf(f))?.state).toBe("migrated");
  } finally {
    if (mounted) unmount();
  }
});

test("one read-only file (EROFS on its take) on a writable mount: the write probe passes, so it is that file's error and the others migrate", async () => {
  const box = fileBox();
  const [ro, ok] = ["ro.txt", "ok.txt"].map((n) => box.file(n, n)) as [string, string];
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const unmount = mountReadOnly(ro);
  try {
    const run = await cli(["run", "--node", "a", "--once", "--json"], box.env);
    const summary = lastJsonLine(run.stdout);
    expect(summary.counts).toMatchObject({ error: 1, migrated: 1 });
    expect(await stateOf(ok)).toMatchObject({ state: "migrated" });
    expect(tasksIn(box.spool, "failed")).toHaveLength(1);
  } finally {
    unmount();
  }
});
