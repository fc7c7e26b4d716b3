import { expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mkfifo, REPO, tempDir } from "../helpers.ts";

async function runDeno(
  script: string,
  dir: string,
): Promise<{ out: string; err: string; code: number }> {
  const deno = join(REPO, "node_modules/.bin/deno");
  const proc = Bun.spawn([deno, "run", "--allow-all", "--quiet", script, dir], {
    cwd: REPO,
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill(), 60_000);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { out, err, code };
}

test("the migrate job runs unchanged under Deno against a file:// target", async () => {
  const dir = tempDir("deno");
  mkdirSync(join(dir, "src/sub"), { recursive: true });
  writeFileSync(join(dir, "src/a.txt"), "hello from deno\n");
  writeFileSync(join(dir, "src/sub/b.bin"), new Uint8Array(70_000).fill(3));
  const { out, err, code } = await runDeno("test/deno/migrate.deno.ts", dir);
  expect(err).toBe("");
  expect(code).toBe(0);
  const result = JSON.parse(out);
  expect(result.runtime).toBe("deno");
  expect(result.counts.migrated).toBe(2);
  expect(result.states.map((s: { key: string }) => s.key)).toEqual(["a.txt", "sub/b.bin"]);
  expect(readFileSync(join(dir, "out/a.txt"), "utf8")).toBe("hello from deno\n");
  expect(readFileSync(join(dir, "out/sub/b.bin")).length).toBe(70_000);
});

test("under Deno: FileHandle ops, a FIFO that does not block, and a deadline on a call stuck in open(2)", async () => {
  const dir = tempDir("deno-rt");
  mkfifo(join(dir, "fifo"));
  const { out, err, code } = await runDeno("test/deno/runtime.deno.ts", dir);
  expect(err).toBe("");
  expect(code).toBe(0);
  const r = JSON.parse(out);
  expect(r).toMatchObject({
    runtime: "deno",
    noatime: true,
    createTwice: "EEXIST",
    lock: "attempt-1",
    missing: null,
    removeMissing: false,
    listed: true,
    readAt: true,
    readBytesMatch: true,
    shortAtEof: 5,
    parallelReads: true,
    md5Matches: true,
    atimeKept: true,
    statExact: true,
    rewritten: "rewritten",
    mtimeSet: "1500000000123456789",
    flockFirst: true,
    flockSecond: false,
    flockAfterClose: true,
    afterClose: "EBADF",
    fifoKind: "other",
    healthyAfter: "rewritten",
    rejoined: { abandoned: 0, lateReturns: 1 },
    selfState: "alive",
  });
  expect(r.deadline.error).toBe("deadline");
  expect(r.deadline.waitedMs).toBeGreaterThanOrEqual(295);
  expect(r.deadline.waitedMs).toBeLessThan(1000);
  expect(r.deadline.ticks).toBeGreaterThanOrEqual(10);
});
