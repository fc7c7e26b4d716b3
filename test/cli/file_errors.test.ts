/**
 * Per-file errors are per-file (issue 2.3 point 6): a file the node may not lock or read
 * (immutable: EPERM; not readable by the user the node runs as: EACCES), a path too long for the
 * kernel (ENAMETOOLONG), a key too long for the store (a 400) is that file's outcome `error`,
 * with its cause, in events, status and /metrics; the task finishes (failed/, with a `.why`), the
 * node goes on with its next task, and `run` exits 1 (an operator must look at the file).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { cliEnv } from "../cli_runtime.ts";
import {
  cli,
  lastJsonLine,
  type Sandbox,
  sandbox,
  spawnCli,
  startServe,
  taskHeader,
  waitFor,
} from "../helpers.ts";
import { stateOf } from "../records.ts";
import { startFaultProxy } from "../services/fault_proxy.ts";
import { newBucket, s3Service } from "../services/shared.ts";

let endpoint = "";
let port = 0;
const immutable: string[] = [];

beforeAll(async () => {
  const s3 = await s3Service();
  endpoint = s3.endpoint;
  port = s3.port;
});
// An immutable file cannot be removed with its sandbox: clear the flag first.
afterAll(() => {
  for (const path of immutable) Bun.spawnSync(["chattr", "-i", path]);
});

async function s3Box(): Promise<Sandbox> {
  const bucket = await newBucket(endpoint);
  return sandbox({ target: `s3://${bucket}/archive`, endpoint });
}

function chattrImmutable(path: string): void {
  const made = Bun.spawnSync(["chattr", "+i", path]);
  if (made.exitCode !== 0) throw new Error(`chattr +i ${path}: ${made.stderr.toString()}`);
  immutable.push(path);
}

const tasksIn = (box: Sandbox, queue: string) => {
  const dir = join(box.spool, "nodes/a", queue);
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".task")) : [];
};

/** Every event line in node a's outbox. */
function events(box: Sandbox): { path: string; outcome: string; error?: string }[] {
  const dir = join(box.spool, "nodes/a/outbox");
  return readdirSync(dir)
    .filter((n) => n.endsWith(".jsonl"))
    .flatMap((n) => readFileSync(join(dir, n), "utf8").trim().split("\n").filter(Boolean))
    .map((l) => JSON.parse(l));
}

test("an immutable file (EPERM) is that file's error: the task finishes, the node goes on, run exits 1", async () => {
  const box = await s3Box();
  const before = box.file("a-before.txt", "before");
  const locked = box.file("b-immutable.txt", "immutable");
  const after = box.file("c-after.txt", "after");
  chattrImmutable(locked);
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const run = await cli(["run", "--node", "a", "--once", "--json"], box.env);
  expect(run.code).toBe(1);
  const summary = lastJsonLine(run.stdout);
  expect(summary.counts).toMatchObject({ migrated: 2, error: 1 });
  expect(summary.needsOperator.join(" ")).toContain("1 error");
  expect(run.stderr).toContain(`error: ${locked}`);
  expect(run.stderr).toContain("operation not permitted");
  expect(run.stderr).toContain("EPERM");
  // The task finished: nothing left in running/ to crash the next tick.
  expect(tasksIn(box, "running")).toEqual([]);
  expect(tasksIn(box, "failed")).toHaveLength(1);
  expect((await stateOf(before))?.key).toBe("archive/a-before.txt");
  expect((await stateOf(after))?.key).toBe("archive/c-after.txt");
  const event = events(box).find((e) => e.path === locked);
  expect(event).toMatchObject({ outcome: "error" });
  expect(event?.error).toContain("EPERM");
  // status says why the task failed.
  const status = await cli(["status"], box.env);
  expect(status.stdout).toContain("1 error");
  {
    await using served = await startServe(box);
    const metrics = await (await fetch(`${served.url}/metrics`)).text();
    expect(metrics).toContain('tiermv_files_total{node="a",outcome="error"} 1');
  }
  // The node goes on: the next task runs.
  const next = box.file("d-next.txt", "next");
  expect((await cli(["submit", "--node", "a", next], box.env)).code).toBe(0);
  const again = await cli(["run", "--node", "a", "--once", "--json"], box.env);
  expect(again.code).toBe(0);
  expect(lastJsonLine(again.stdout).counts).toMatchObject({ migrated: 1, error: 0 });
  expect(tasksIn(box, "running")).toEqual([]);
});

test("a file not readable by the node's user (EACCES) is that file's error; the others migrate", async () => {
  const box = await s3Box();
  box.file("ok.txt", "ok");
  const secret = box.file("secret.txt", "secret");
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  // Everything the node writes must be writable by nobody; the file it cannot read is root's.
  Bun.spawnSync(["chmod", "-R", "a+rwX", box.dir]);
  chmodSync(secret, 0o600);
  const nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"];
  const run = await cliAs(nobody, ["run", "--node", "a", "--once", "--json"], box.env);
  expect(run.code).toBe(1);
  expect(lastJsonLine(run.stdout).counts).toMatchObject({ migrated: 1, error: 1 });
  expect(run.stderr).toContain("permission denied");
  expect(tasksIn(box, "running")).toEqual([]);
  expect((await stateOf(secret)) ?? null).toBeNull();
});

test("ls, verify and scan run as a user who cannot open one file: that file is reported as unreadable, and the walk goes on to the others", async () => {
  const box = await s3Box();
  const files = ["a.txt", "b.txt", "c.txt"].map((name) => box.file(name, name));
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  expect((await cli(["run", "--node", "a", "--once"], box.env)).code).toBe(0);
  Bun.spawnSync(["chmod", "-R", "a+rwX", box.dir]);
  chmodSync(files[0] as string, 0o600);
  const nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"];
  const ls = await cliAs(nobody, ["ls", "--json", box.src], box.env);
  const listed = ls.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(listed.at(-1).summary.files).toMatchObject({ migrated: 2, unreadable: 1 });
  expect(listed.find((e) => e.path === files[0])?.error).toContain("permission denied");
  const verify = await cliAs(nobody, ["verify", "--json", box.src], box.env);
  expect(verify.code).toBe(1);
  const found = verify.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(found.filter((f) => f.kind)).toEqual([
    expect.objectContaining({ kind: "unreadable-file", path: files[0] }),
  ]);
  expect(found.at(-1).summary).toMatchObject({ committed: 2 });
  // s3proxy keeps no versions: scan counts for release only what the operator's opt-in allows.
  box.setConfig({ s3: { ...box.config.s3, releaseUnversioned: true } });
  const scan = await cliAs(
    nobody,
    ["scan", "--json", "--node", "a", "--dry-run", box.src],
    box.env,
  );
  expect(scan.code).toBe(0);
  expect(scan.stderr).toContain(
    "3 files, 2 selected (0.0 MiB); left out: 1 unreadable (the file is not accessible: permission denied)",
  );
});

test("a path too long for the kernel (ENAMETOOLONG) and a key over S3's 1,024 bytes (S3 answers 400) are each that file's error", async () => {
  const box = await s3Box();
  const ok = box.file("ok.txt", "ok");
  // A key over S3's 1024 bytes (S3 answers 400 KeyTooLongError; refused before it is sent):
  // four directories of 250 bytes and a file.
  const part = "k".repeat(250);
  const longKey = box.file(`${part}/${part}/${part}/${part}/${part}.txt`, "long key");
  // A path over PATH_MAX (4096): made one directory at a time, as no call accepts it whole.
  const step = "d".repeat(250);
  const made = Array.from({ length: 17 }, () => step).join("/");
  const mkdirs = `cd "${box.src}" && for i in $(seq 17); do mkdir ${step} && cd ${step}; done && echo x > f.txt`;
  expect(Bun.spawnSync(["bash", "-c", mkdirs]).exitCode).toBe(0);
  const deep = `${box.src}/${made}/f.txt`;
  // submit refuses a path it cannot stat; a task written as dispatch writes it reaches the node.
  const pending = join(box.spool, "nodes/a/pending");
  mkdirSync(pending, { recursive: true });
  const lines = [
    taskHeader("t-long", box.config.target),
    ...[ok, longKey, deep].map((p) => JSON.stringify({ path: p })),
  ];
  writeFileSync(join(pending, "t-long.task"), `${lines.join("\n")}\n`);
  const run = await cli(["run", "--node", "a", "--once", "--json"], box.env);
  expect(run.code).toBe(1);
  expect(lastJsonLine(run.stdout).counts).toMatchObject({ migrated: 1, error: 2 });
  const byPath = new Map(events(box).map((e) => [e.path, e]));
  expect(byPath.get(deep)?.error).toContain("ENAMETOOLONG");
  expect(byPath.get(longKey)?.outcome).toBe("error");
  expect(byPath.get(longKey)?.error).toContain("KeyTooLongError");
  expect(tasksIn(box, "running")).toEqual([]);
  expect(tasksIn(box, "failed")).toEqual(["t-long.task"]);
});

test("a file deleted while its upload is in flight is vanished: nothing committed, the task goes on, run exits 0", async () => {
  const proxy = await startFaultProxy(port);
  try {
    const bucket = await newBucket(endpoint);
    const box = sandbox({
      target: `s3://${bucket}/archive`,
      endpoint: proxy.endpoint,
      extra: { migrate: { concurrency: 1 } },
    });
    const doomed = box.file("a-doomed.txt", "doomed");
    const kept = box.file("b-kept.txt", "kept");
    expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
    proxy.setMode("stall"); // the first upload stays in flight
    const run = spawnCli(["run", "--node", "a", "--once", "--json"], box.env);
    await waitFor(() => proxy.stalled > 0, "the first upload to be in flight");
    rmSync(doomed);
    proxy.release();
    expect(await run.exited).toBe(0);
    const summary = lastJsonLine(await new Response(run.stdout).text());
    expect(summary.counts).toMatchObject({ vanished: 1, migrated: 1, error: 0, failed: 0 });
    expect((await stateOf(kept))?.key).toBe("archive/b-kept.txt");
    expect(tasksIn(box, "done")).toHaveLength(1);
  } finally {
    await proxy.stop();
  }
});

async function cliAs(prefix: string[], args: string[], env: Record<string, string>) {
  const proc = Bun.spawn(
    [...prefix, process.execPath, join(import.meta.dir, "../../cli/main.ts"), ...args],
    {
      env: { ...cliEnv("bun"), ...process.env, TIERMV_LOG: "text", ...env },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}
