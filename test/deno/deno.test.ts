import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DENO, denoTaskFlags } from "../cli_runtime.ts";
import { cli, lastJsonLine, mkfifo, REPO, sandbox, tempDir } from "../helpers.ts";
import { stateOf } from "../records.ts";
import { ACCESS_KEY, SECRET_KEY } from "../services/s3proxy.ts";
import { newBucket, s3Client, s3Service } from "../services/shared.ts";

async function runDeno(
  script: string,
  ...args: string[]
): Promise<{ out: string; err: string; code: number }> {
  const proc = Bun.spawn([DENO, "run", ...denoTaskFlags(), "--quiet", script, ...args], {
    cwd: REPO,
    env: { ...process.env, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY },
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

test("under Deno: the S3 target's HEAD and GET, signed outside the SDK client and sent with fetch, read what the SDK wrote", async () => {
  const s3 = await s3Service();
  const bucket = await newBucket(s3.endpoint);
  const client = s3Client(s3.endpoint);
  const meta = { attempt: "a-1", epoch: "2", size: "10", "mtime-ns": "17", ino: "42" };
  const key = "t/dir/a file+1";
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: "0123456789", Metadata: meta }),
  );
  client.destroy();
  const { out, err, code } = await runDeno("test/deno/s3_reads.deno.ts", s3.endpoint, bucket, key);
  expect({ err, code }).toEqual({ err: "", code: 0 });
  const read = JSON.parse(out);
  const object = {
    key,
    versionId: null,
    etag: createHash("md5").update("0123456789").digest("hex"),
    size: 10,
    meta: { attempt: "a-1", epoch: 2, size: 10, mtimeNs: "17", ino: "42" },
  };
  expect(read).toEqual({
    head: object,
    range: "23456",
    first: { object, bytes: "0123" },
    missing: null,
  });
});

test("deno task tiermv runs the CLI from the caller's directory: relative paths are the caller's, as with bin/tiermv", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  box.file("rel/a.txt", "through deno task\n");
  // As from an operator's shell: `npm test` sets INIT_CWD, which deno task would keep.
  const { INIT_CWD: _, ...env } = process.env;
  const task = (args: string[]) =>
    Bun.spawn([DENO, "task", "--quiet", "--config", join(REPO, "deno.json"), "tiermv", ...args], {
      cwd: box.src,
      env: { ...env, ...box.env, TIERMV_LOG: "text" },
      stdout: "pipe",
      stderr: "pipe",
    });
  const submit = task(["submit", "--node", "a", "--json", "rel"]);
  expect(await submit.exited).toBe(0);
  expect(JSON.parse(await new Response(submit.stdout).text()).result.files).toBe(1);
  const run = task(["run", "--node", "a", "--once", "--json"]);
  expect(await run.exited).toBe(0);
  expect(lastJsonLine(await new Response(run.stdout).text()).counts.migrated).toBe(1);
  expect(readFileSync(join(box.dir, "out/rel/a.txt"), "utf8")).toBe("through deno task\n");
  expect((await stateOf(join(box.src, "rel/a.txt")))?.key).toBe("rel/a.txt");
});

test("under Deno without --allow-all a command refuses to run (exit 2): only --allow-all reads /proc, which names lock holders", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  const proc = Bun.spawn(
    [
      DENO,
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      join(REPO, "cli/main.ts"),
      "status",
    ],
    {
      cwd: REPO,
      env: { ...process.env, ...box.env, TIERMV_LOG: "text" },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  expect(await proc.exited).toBe(2);
  expect(await new Response(proc.stderr).text()).toContain("tiermv under Deno needs --allow-all");
  // The same command with deno.json's flags runs.
  expect((await cli(["status"], box.env, { runtime: "deno" })).code).toBe(0);
});

test("under Deno: FileHandle ops (compound ones too, migrate's and release's), a FIFO that does not block, and a deadline on a call stuck in open(2)", async () => {
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
    fifoLook: { kind: "other", names: null },
    tierCompound: {
      handoffs: 6,
      locked: true,
      listed: true,
      otherLocked: false,
      otherNames: null,
      takeTop: ["user.tiermv.e.2", "e2"],
      checkedTop: "user.tiermv.e.2",
      checkedSize: 4,
      mark: null,
      removed: [true, false],
    },
    compound: {
      handoffs: 5,
      lookedKind: "file",
      lookedNames: true,
      created: true,
      createTwice: "EEXIST",
      readWithStat: "compound",
      hereSame: true,
      movedAtPath: null,
    },
    healthyAfter: "rewritten",
    rejoined: { abandoned: 0, lateReturns: true },
    selfState: "alive",
    ctimeNsPrecise: true,
    pathXattr: {
      value: "by path",
      createTwice: "EEXIST",
      listed: true,
      removed: true,
      missing: null,
    },
    symlink: "ELOOP",
    flock: { first: true, second: "held by the first", afterRelease: true },
    identity: { start: true, boot: true, reusedPid: "dead", otherBoot: "elsewhere" },
  });
  expect(r.deadline.error).toBe("deadline");
  expect(r.deadline.waitedMs).toBeGreaterThanOrEqual(295);
  expect(r.deadline.waitedMs).toBeLessThan(10_000); // returned soon after it, not hung
  expect(r.deadline.ticks).toBeGreaterThanOrEqual(10);
});
