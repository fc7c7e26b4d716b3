/**
 * docs/ceph.md, "A hung mount": freezes node-a's ceph-fuse (SIGSTOP) and records what blocks,
 * what the blocked processes look like from outside (/proc state, per-thread states), whether a
 * Worker keeps the event loop's timers running, whether a process with a stuck thread can exit,
 * and what happens after SIGCONT; then what a frozen client does to another client that needs
 * the capabilities it holds. Also checks Bun.file(fd) slices and f*xattr on a descriptor opened
 * with the attempt flags, on ceph-fuse and on ext4.
 *
 *   bun test/ceph/hung_mount_probe.ts [default|reconnect] [session timeout s]
 * `reconnect` starts the cluster with `evictedClientsReconnect` (as npm test's cluster).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CephService, startCeph } from "../services/ceph.ts";

const WORKER = join(import.meta.dir, "hung_worker.ts");
const FREEZE_MS = 3000;

type Proc = ReturnType<typeof spawnWorker>;
let ceph: CephService;

function spawnWorker(node: string, args: string[]) {
  const proc = ceph.spawn(node, [process.execPath, WORKER, ...args], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let text = "";
  const lines: string[] = [];
  // One read in flight at a time, kept across calls: a read that loses a race with the timeout
  // is not dropped, its chunk is taken by the next call.
  let pending: ReturnType<typeof reader.read> | null = null;
  const next = async (timeoutMs: number): Promise<string | null> => {
    const deadline = Date.now() + timeoutMs;
    while (lines.length === 0) {
      pending ??= reader.read();
      const wait = Math.max(0, deadline - Date.now());
      const chunk = await Promise.race([pending, Bun.sleep(wait).then(() => null)]);
      if (chunk === null) return null;
      pending = null;
      if (chunk.done) return null;
      text += new TextDecoder().decode(chunk.value);
      const parts = text.split("\n");
      text = parts.pop() ?? "";
      lines.push(...parts.filter(Boolean));
    }
    return lines.shift() ?? null;
  };
  return { proc, next, go: () => proc.stdin.write("go\n") };
}

/** State letter and wchan of a pid and of each of its threads, as /proc shows them. */
function procState(pid: number): string {
  const state = (file: string) => {
    try {
      const stat = readFileSync(file, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "?";
    } catch {
      return "gone";
    }
  };
  const wchan = (file: string) => {
    try {
      return readFileSync(file, "utf8") || "-";
    } catch {
      return "?";
    }
  };
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`).map(
      (t) =>
        `${t}:${state(`/proc/${pid}/task/${t}/stat`)}(${wchan(`/proc/${pid}/task/${t}/wchan`)})`,
    );
  } catch {}
  const threadSummary = summarize(tasks);
  return `process ${state(`/proc/${pid}/stat`)}; threads ${threadSummary}`;
}

function summarize(tasks: string[]): string {
  const counts = new Map<string, number>();
  for (const t of tasks) {
    const key = t.slice(t.indexOf(":") + 1);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n}x ${k}`).join(", ") || "none";
}

async function ready(worker: Proc) {
  const line = await worker.next(30_000);
  if (line !== "ready")
    throw new Error(`worker not ready: ${line} ${await new Response(worker.proc.stderr).text()}`);
}

const log = (line: string) => console.log(line);

/** One process per call, all released once node-a's client is stopped; round r uses new files. */
async function frozenCalls(dir: string, round: number): Promise<void> {
  log(`\n## node-a frozen for ${FREEZE_MS} ms: one call per process (round ${round})`);
  const ops = ["stat", "open", "fgetxattr", "getxattr", "rename", "readdir"];
  await ceph.exec("node-a", [
    "sh",
    "-c",
    `for n in ${ops.join(" ")}; do printf 0123456789 > ${dir}/$n-${round}; done`,
  ]);
  const workers = ops.map((op) => spawnWorker("node-a", ["op", join(dir, `${op}-${round}`), op]));
  for (const w of workers) await ready(w);
  ceph.freeze("node-a");
  const frozenAt = Date.now();
  for (const w of workers) w.go();
  await Bun.sleep(FREEZE_MS);
  const during = workers.map((w, i) => `${ops[i]}: ${procState(w.proc.pid)}`);
  const returnedEarly = await Promise.all(workers.map((w) => w.next(1)));
  ceph.thaw("node-a");
  const thawedAt = Date.now();
  for (const [i, w] of workers.entries()) {
    const result = returnedEarly[i] ?? (await w.next(60_000));
    log(
      `- ${ops[i]}: while frozen ${returnedEarly[i] ? "RETURNED" : "blocked"} (${during[i]}); result ${result}; returned ${returnedEarly[i] ? "before thaw" : `${Date.now() - thawedAt} ms after thaw (or sooner)`}`,
    );
  }
  log(`(frozen ${thawedAt - frozenAt} ms)`);
}

const evictedClientsReconnect = process.argv[2] === "reconnect";
const sessionTimeoutSec = process.argv[3] ? Number(process.argv[3]) : undefined;
ceph = await startCeph({ nodes: ["node-a", "node-b"], evictedClientsReconnect, sessionTimeoutSec });
log(
  `evictedClientsReconnect: ${evictedClientsReconnect}; session_timeout: ${sessionTimeoutSec ?? "default (60 s)"}\n`,
);
const local = mkdtempSync(join(tmpdir(), "tiermv-hung-"));
try {
  const dir = join(ceph.mount, "hung");
  const names = [
    "stat",
    "open",
    "fgetxattr",
    "getxattr",
    "rename",
    "readdir",
    "timers-w",
    "timers-m",
    "exit",
    "check",
  ];
  await ceph.exec("node-a", [
    "sh",
    "-c",
    `mkdir ${dir} && for n in ${names.join(" ")}; do printf 0123456789 > ${dir}/$n; done`,
  ]);
  writeFileSync(join(local, "check"), "0123456789");

  log("## descriptor opened with O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOATIME (mount not frozen)");
  for (const [where, path] of [
    ["ceph-fuse", join(dir, "check")],
    ["ext4", join(local, "check")],
  ] as const) {
    const w = spawnWorker("node-a", ["fdcheck", path]);
    await ready(w);
    w.go();
    log(`- ${where}: ${await w.next(30_000)}`);
  }

  for (const round of [1, 2, 3]) await frozenCalls(dir, round);

  log(`\n## event loop while a synchronous FFI fgetxattr blocks (node-a frozen ${FREEZE_MS} ms)`);
  const inWorker = spawnWorker("node-a", ["timers", join(dir, "timers-w"), "worker"]);
  await ready(inWorker);
  ceph.freeze("node-a");
  inWorker.go();
  log(`- in a Worker, while frozen: ${await inWorker.next(FREEZE_MS + 5000)}`);
  ceph.thaw("node-a");
  log(`- in a Worker, after thaw: ${await inWorker.next(30_000)}`);
  const onMain = spawnWorker("node-a", ["timers", join(dir, "timers-m"), "main"]);
  await ready(onMain);
  ceph.freeze("node-a");
  onMain.go();
  const whileFrozen = await onMain.next(FREEZE_MS);
  ceph.thaw("node-a");
  log(
    `- on the main thread: output while frozen: ${whileFrozen ?? "none"}; after thaw: ${await onMain.next(30_000)}`,
  );

  log("\n## a process that calls exit while its Worker is stuck in fgetxattr (node-a frozen)");
  const exiting = spawnWorker("node-a", ["exit", join(dir, "exit")]);
  await ready(exiting);
  ceph.freeze("node-a");
  exiting.go();
  log(`- it printed: ${await exiting.next(10_000)}`);
  let reaped = false;
  exiting.proc.exited.then(() => {
    reaped = true;
  });
  for (const ms of [500, 2000]) {
    await Bun.sleep(ms === 500 ? 500 : 1500);
    log(`- ${ms} ms after exit: reaped=${reaped}; /proc: ${procState(exiting.proc.pid)}`);
  }
  const thawAt = Date.now();
  ceph.thaw("node-a");
  await exiting.proc.exited;
  log(
    `- after SIGCONT: reaped ${Date.now() - thawAt} ms later, exit code ${exiting.proc.exitCode}`,
  );

  log("\n## another client needs what the frozen client holds");
  const shared = join(ceph.mount, "shared");
  await ceph.exec("node-a", ["sh", "-c", `mkdir ${shared} && printf a > ${shared}/held`]);
  await ceph.exec("node-b", ["ls", shared]);
  const other = join(ceph.mount, "other");
  await ceph.exec("node-b", ["sh", "-c", `mkdir ${other} && printf b > ${other}/mine`]);
  ceph.freeze("node-a");
  const t0 = Date.now();
  const own = await ceph.exec("node-b", ["cat", join(other, "mine")]);
  log(
    `- node-b reads its own file: ${own.code === 0 ? "ok" : own.stderr.trim()} in ${Date.now() - t0} ms`,
  );
  const t1 = Date.now();
  const held = await ceph.exec(
    "node-b",
    ["sh", "-c", `printf b >> ${shared}/held && cat ${shared}/held`],
    { timeoutMs: 180_000 },
  );
  log(
    `- node-b appends to the file node-a wrote (node-a holds its caps): ${held.code === 0 ? `ok "${held.stdout}"` : held.stderr.trim()} after ${Date.now() - t1} ms`,
  );
  const ceph_ = (args: string[]) =>
    Bun.spawnSync(["ceph", "-c", ceph.conf, "-n", "client.admin", ...args], {
      env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` },
    })
      .stdout.toString()
      .trim();
  const blocklist = Bun.spawnSync([
    "ceph",
    "-c",
    ceph.conf,
    "-n",
    "client.admin",
    "osd",
    "blocklist",
    "ls",
  ]);
  log(
    `- OSD blocklist now: ${(blocklist.stdout.toString() + blocklist.stderr.toString()).trim().replaceAll("\n", "; ")}; health: ${ceph_(["health"])}`,
  );
  ceph.thaw("node-a");
  const t2 = Date.now();
  const after = await ceph.exec("node-a", ["stat", "-c", "%s", join(shared, "held")], {
    timeoutMs: 120_000,
  });
  log(
    `- node-a after SIGCONT, stat of that file: ${after.code === 0 ? `ok, size ${after.stdout.trim()}` : after.stderr.trim()} after ${Date.now() - t2} ms`,
  );
  const touch = await ceph.exec("node-a", ["touch", join(ceph.mount, "after-thaw")], {
    timeoutMs: 120_000,
  });
  log(`- node-a creates a new file: ${touch.code === 0 ? "ok" : touch.stderr.trim()}`);
} finally {
  rmSync(local, { recursive: true, force: true });
  const t = Date.now();
  await ceph.stop();
  console.log(`\n(stop took ${Date.now() - t} ms)`);
}
