import { afterAll, beforeAll, expect, test } from "bun:test";
import { appendFileSync, readdirSync } from "node:fs";
import { createS3Target } from "../../jobs/targets/s3.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { cli, lastJsonLine, randomBytes, sandbox, spawnCli, waitFor } from "../helpers.ts";
import { holderOf, stateOf } from "../records.ts";
import { type FaultProxy, startFaultProxy } from "../services/fault_proxy.ts";
import { newBucket, s3Service } from "../services/shared.ts";

const rt = createRuntime();
let endpoint = "";
let proxy: FaultProxy;

beforeAll(async () => {
  const s3 = await s3Service();
  endpoint = s3.endpoint;
  proxy = await startFaultProxy(s3.port);
});
afterAll(() => proxy.stop());

async function s3Box(via: "direct" | "proxy" = "direct") {
  const bucket = await newBucket(endpoint);
  const box = sandbox({
    target: `s3://${bucket}/archive`,
    endpoint: via === "proxy" ? proxy.endpoint : endpoint,
  });
  const target = createS3Target(rt, box.config.target, {
    ...box.config,
    s3: { ...box.config.s3, endpoint },
  });
  return { box, bucket, target };
}

test("a mixed tree is migrated byte-identical, with state and object metadata recorded", async () => {
  const { box, target } = await s3Box();
  const files: Record<string, Uint8Array> = {
    "empty.bin": new Uint8Array(),
    "one.bin": new Uint8Array([7]),
    "big/seventeen MiB.bin": randomBytes(17 * 1024 * 1024, 3),
    "nested/deeper/still/ü ñ 日本.txt": new TextEncoder().encode("non-ascii name\n"),
    "with space.txt": new TextEncoder().encode("spaces\n"),
  };
  for (const [rel, data] of Object.entries(files)) box.file(rel, data);
  const submit = await cli(["submit", "--node", "a", box.src], box.env);
  expect(submit.code).toBe(0);
  const run = await cli(["run", "--node", "a", "--once", "--json"], box.env);
  expect(run.stderr).not.toContain("ERROR");
  expect(run.code).toBe(0);
  const summary = lastJsonLine(run.stdout);
  expect(summary.counts.migrated).toBe(5);
  expect(summary.tasks[0].result).toBe("done");

  for (const [rel, data] of Object.entries(files)) {
    const path = `${box.src}/${rel}`;
    const object = await target.read(`archive/${rel}`);
    expect(object).not.toBeNull();
    expect(Buffer.compare(Buffer.from(object ?? []), Buffer.from(data))).toBe(0);
    const state = await stateOf(path);
    const stat = await rt.fs.stat(path);
    expect(state).toMatchObject({
      state: "migrated",
      key: `archive/${rel}`,
      size: data.length,
      mtimeNs: stat.mtimeNs,
      ino: stat.ino,
    });
    const head = await target.head(`archive/${rel}`);
    const multipart = data.length > box.config.s3.multipartThreshold;
    expect(head?.meta).toEqual({
      attempt: state?.attempt ?? "",
      epoch: 1,
      size: data.length,
      mtimeNs: stat.mtimeNs,
      ino: stat.ino,
      ctimeNs: state?.ctimeNs,
      ...(multipart ? { partSize: box.config.s3.partSize } : {}),
    });
    expect(await holderOf(path)).toBeNull();
  }
  // The 17 MiB file went multipart: S3 marks multipart ETags with a part count.
  expect((await target.head("archive/big/seventeen MiB.bin"))?.etag).toMatch(/-3$/);
  target.close();
});

test("a rerun of the same files is a no-op: no request reaches S3", async () => {
  const { box, target } = await s3Box("proxy");
  for (let i = 0; i < 5; i++) box.file(`f${i}.txt`, `content ${i}\n`);
  await cli(["submit", "--node", "a", box.src], box.env);
  expect((await cli(["run", "--node", "a"], box.env)).code).toBe(0);
  const before = await target.head("archive/f0.txt");
  // A new request id: the same content the same day would otherwise be answered as a duplicate.
  await cli(["submit", "--node", "a", "--request-id", "again", box.src], box.env);
  proxy.resetCounters();
  const rerun = await cli(["run", "--node", "a", "--json"], box.env);
  const summary = lastJsonLine(rerun.stdout);
  expect(summary.counts).toMatchObject({ migrated: 0, skipped: 5 });
  expect(proxy.connections).toBe(0);
  expect(proxy.bytesUp).toBe(0);
  expect((await target.head("archive/f0.txt"))?.meta?.attempt).toBe(
    before?.meta?.attempt ?? "missing",
  );
  target.close();
});

test("a file modified between upload and commit is not committed; on an unversioned bucket its object stays a stray (nothing is deleted by key) and verify names it", async () => {
  const { box, target } = await s3Box("proxy");
  const path = box.file("changing.bin", randomBytes(256 * 1024, 9));
  await cli(["submit", "--node", "a", box.src], box.env);
  proxy.setMode("hold");
  proxy.resetCounters();
  const run = spawnCli(["run", "--node", "a", "--json"], box.env);
  // The upload has been sent and its response is held: modify the file, then let it finish.
  await waitFor(() => proxy.bytesUp > 256 * 1024, "the upload to reach s3proxy");
  await waitFor(
    async () => (await target.head("archive/changing.bin")) !== null,
    "the object to exist",
  );
  appendFileSync(path, "more");
  proxy.release();
  const stdout = await new Response(run.stdout).text();
  expect(await run.exited).toBe(0);
  const summary = lastJsonLine(stdout);
  expect(summary.counts.modified).toBe(1);
  expect(await stateOf(path)).toBeNull();
  expect(await holderOf(path)).toBeNull();
  // A DELETE by key that landed late could remove the key's next commit: the object stays.
  expect((await target.head("archive/changing.bin"))?.meta?.size).toBe(256 * 1024);
  const verify = await cli(["verify", "--json"], box.env);
  const strays = verify.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((f) => f.kind === "stray-object");
  expect(strays.map((f) => f.key)).toEqual(["archive/changing.bin"]);
  target.close();
});

test("kill -9 of the run process mid-task, then a rerun, completes the task with every file correct", async () => {
  const { box, target } = await s3Box("proxy");
  const files = Array.from(
    { length: 30 },
    (_, i) => [`k/${i}.bin`, randomBytes(2048 + i, i + 1)] as const,
  );
  for (const [rel, data] of files) box.file(rel, data);
  box.setConfig({ migrate: { concurrency: 4, uploadRetryBaseMs: 10 } });
  await cli(["submit", "--node", "a", box.src], box.env);
  proxy.setMode("hold");
  proxy.resetCounters();
  const run = spawnCli(["run", "--node", "a"], box.env);
  await waitFor(() => proxy.bytesUp > 8000, "uploads in flight");
  run.kill("SIGKILL");
  await run.exited;
  proxy.release();
  const running = readdirSync(`${box.spool}/nodes/a/running`);
  expect(running.length).toBe(1);
  // Rerun directly against s3proxy: it resumes running/, resolves its own stale locks.
  box.setConfig({ s3: { endpoint } });
  const rerun = await cli(["run", "--node", "a", "--json"], box.env);
  expect(rerun.code).toBe(0);
  expect(readdirSync(`${box.spool}/nodes/a/running`)).toEqual([]);
  expect(readdirSync(`${box.spool}/nodes/a/done`).filter((n) => n.endsWith(".task")).length).toBe(
    1,
  );
  for (const [rel, data] of files) {
    const path = `${box.src}/${rel}`;
    const state = await stateOf(path);
    expect(state?.key).toBe(`archive/${rel}`);
    expect(Buffer.from((await target.read(`archive/${rel}`)) ?? [])).toEqual(Buffer.from(data));
    expect(await holderOf(path)).toBeNull();
  }
  target.close();
});
