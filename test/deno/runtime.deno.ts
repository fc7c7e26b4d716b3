/**
 * The runtime layer under Deno: FileHandle ops on ext4 and a deadline on a call really stuck in
 * open(2), through the same worker pool (node:worker_threads + synchronous Deno.dlopen). Prints
 * one JSON line of findings for test/deno/deno.test.ts, which checks them; exits by itself (the
 * pool never keeps a process alive).
 * Usage: deno run --allow-all test/deno/runtime.deno.ts WORKDIR
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createRuntime } from "../../runtime/deno.ts";
import { MountUnavailableError, XattrExistsError } from "../../runtime/errors.ts";

const dir = process.argv[2] ?? "";
// Ordinary calls get a deadline no loaded machine misses; the stuck call below has its own pool.
const rt = createRuntime({ mount: { timeoutMs: 60_000 } });
const timeoutMs = 300;
const enc = new TextEncoder();
const dec = new TextDecoder();
const out: Record<string, unknown> = { runtime: rt.name };

// FileHandle ops on a regular file.
const path = `${dir}/f`;
const bytes = new Uint8Array(2 * 1024 * 1024 + 5).map((_, i) => (i * 11) % 256);
writeFileSync(path, bytes);
utimesSync(path, new Date("2001-02-03T04:05:06Z"), new Date("2001-02-03T04:05:06Z"));
const atimeBefore = statSync(path, { bigint: true }).atimeNs.toString();
const handle = await rt.openFile(path, { mode: "readwrite" });
out.noatime = handle.noatime;
await handle.setXattr("user.tiermv.lock", enc.encode("attempt-1"), "create");
const again = await handle.setXattr("user.tiermv.lock", enc.encode("x"), "create").catch((e) => e);
out.createTwice = again instanceof XattrExistsError ? again.code : String(again);
out.lock = dec.decode((await handle.getXattr("user.tiermv.lock")) ?? new Uint8Array());
out.missing = await handle.getXattr("user.absent");
out.removeMissing = await handle.removeXattr("user.absent");
out.listed = (await handle.listXattr()).includes("user.tiermv.lock");
const part = new Uint8Array(1024 * 1024);
out.readAt = (await handle.readInto(1024 * 1024, part)) === part.length;
out.readBytesMatch = Buffer.compare(part, bytes.subarray(1024 * 1024, 2 * 1024 * 1024)) === 0;
out.shortAtEof = await handle.readInto(bytes.length - 5, new Uint8Array(100));
// In parallel, so that several threads use the one descriptor (Deno's node:fs would say EBADF in
// every thread but the one that opened it: descriptors are opened and read through libc).
const offsets = [0, 4096, 1024 * 1024, 2 * 1024 * 1024 - 4096];
const reads = await Promise.all(
  offsets.map(async (at) => {
    const into = new Uint8Array(4096);
    await handle.readInto(at, into);
    return Buffer.compare(into, bytes.subarray(at, at + 4096)) === 0;
  }),
);
out.parallelReads = reads.every(Boolean) && rt.mountStatus().live > 1;
out.md5Matches =
  Buffer.from(await handle.md5(3, 2_000_000)).toString("hex") ===
  createHash("md5").update(bytes.subarray(3, 2_000_003)).digest("hex");
out.atimeKept = statSync(path, { bigint: true }).atimeNs.toString() === atimeBefore;
const stat = await handle.stat();
const node = statSync(path, { bigint: true });
out.statExact =
  stat.mtimeNs === node.mtimeNs.toString() &&
  stat.ino === node.ino.toString() &&
  stat.size === bytes.length &&
  stat.kind === "file";
out.ctimeNsPrecise = !stat.ctimeNs.endsWith("000000000");
out.flockFirst = await handle.tryLock();
const other = await rt.openFile(path, { mode: "read" });
out.flockSecond = await other.tryLock();
await other.close();
await handle.truncate(0);
await handle.write(0, enc.encode("rewritten"));
await handle.setTimes(undefined, "1500000000123456789");
await handle.sync();
out.rewritten = readFileSync(path, "utf8");
out.mtimeSet = (await rt.fs.stat(path)).mtimeNs;
await handle.close();
await handle.close();
const third = await rt.openFile(path, { mode: "read" });
out.flockAfterClose = await third.tryLock();
await third.close();
out.afterClose = await handle.stat().catch((e) => e.code);

// The path API of xattrs (the protocol's v1 records and tools use it).
await rt.xattr.set(path, "user.tiermv.p", enc.encode("by path"), "create");
const pathTwice = await rt.xattr
  .set(path, "user.tiermv.p", enc.encode("x"), "create")
  .catch((e) => e);
out.pathXattr = {
  value: dec.decode((await rt.xattr.get(path, "user.tiermv.p")) ?? new Uint8Array()),
  createTwice: pathTwice instanceof XattrExistsError ? pathTwice.code : String(pathTwice),
  listed: (await rt.xattr.list(path)).includes("user.tiermv.p"),
  removed: await rt.xattr.remove(path, "user.tiermv.p"),
  missing: await rt.xattr.get(path, "user.tiermv.p"),
};

// O_NOFOLLOW: a symlink is refused.
symlinkSync(path, `${path}.link`);
out.symlink = await rt.openFile(`${path}.link`, { mode: "read" }).then(
  () => "opened",
  (e) => e.code,
);

// The instance lock: flock on a local file; a second open file description cannot take it.
const lockPath = `${dir}/instance.lock`;
const first = rt.process.lockLocalFile(lockPath, "held by the first");
const second = rt.process.lockLocalFile(lockPath, "held by the second");
const flock = { first: first.acquired, second: second.acquired ? "acquired" : second.holder };
if (first.acquired) first.lock.release();
out.flock = { ...flock, afterRelease: rt.process.lockLocalFile(lockPath, "third").acquired };

// Process identity from /proc: this process alive, the same pid with another start time dead.
const me = rt.process.identity();
out.identity = {
  start: /^\d+$/.test(me.start),
  boot: me.boot === readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
  reusedPid: rt.process.processState({ ...me, start: String(Number(me.start) + 1) }),
  otherBoot: rt.process.processState({ ...me, boot: "another-boot" }),
};

// Compound calls, one hand-off each (the migrate path's): as under Bun.
const compoundPath = `${dir}/compound`;
writeFileSync(compoundPath, "compound");
const looked = await rt.openFile(compoundPath, { mode: "read", look: true });
const handoffs = rt.mountStatus().handoffs;
const created = await looked.createXattrThenList("user.tiermv.l.1", enc.encode("take"));
const createdAgain = await looked
  .createXattrThenList("user.tiermv.l.1", enc.encode("x"))
  .catch((e) => e);
const withBody = await looked.statThenRead(1024);
const here = await looked.statWithPath();
renameSync(compoundPath, `${compoundPath}.moved`);
const moved = await looked.statWithPath();
const compoundHandoffs = rt.mountStatus().handoffs - handoffs;
await looked.close();

// The release path's compound calls (tier_file.ts, release.ts), one hand-off each.
const tierPath = `${dir}/tier`;
writeFileSync(tierPath, "tier");
const tierOptions = { mode: "readwrite", look: { lock: true, top: "user.tiermv.e." } } as const;
const tierStart = rt.mountStatus().handoffs;
const tier = await rt.openFile(tierPath, tierOptions);
const tierOther = await rt.openFile(tierPath, tierOptions);
const took = await tier.createXattrThenListTop("user.tiermv.e.2", enc.encode("e2"), {
  top: "user.tiermv.e.",
});
const checked = await tier.listTopThenStat("user.tiermv.e.");
const marked = await tier.statThenGetXattr("user.tiermv.norelease");
const removed = await tier.removeXattrs(["user.tiermv.e.2", "user.absent"]);
out.tierCompound = {
  handoffs: rt.mountStatus().handoffs - tierStart,
  locked: await tier.opened?.locked?.(),
  listed: Array.isArray(await tier.opened?.names?.()),
  otherLocked: await tierOther.opened?.locked?.(),
  otherNames: tierOther.opened?.names,
  takeTop: took.top ? [took.top.name, dec.decode(took.top.value ?? new Uint8Array())] : null,
  checkedTop: checked.listing.top?.name,
  checkedSize: checked.stat.size,
  mark: marked.value,
  removed,
};
await tierOther.close();
await tier.close();
out.compound = {
  handoffs: compoundHandoffs,
  lookedKind: (await looked.opened?.stat())?.kind,
  lookedNames: Array.isArray(await looked.opened?.names?.()),
  created: created.includes("user.tiermv.l.1"),
  createTwice: createdAgain instanceof XattrExistsError ? createdAgain.code : String(createdAgain),
  readWithStat: withBody.head ? dec.decode(withBody.head) : null,
  hereSame: here.atPath?.ino === here.stat.ino,
  movedAtPath: moved.atPath,
};

// A FIFO is opened without blocking.
const fifo = `${dir}/fifo`;
const fifoHandle = await rt.openFile(fifo, { mode: "read" });
out.fifoKind = (await fifoHandle.stat()).kind;
await fifoHandle.close();
const fifoLooked = await rt.openFile(fifo, { mode: "read", look: true });
out.fifoLook = { kind: (await fifoLooked.opened?.stat())?.kind, names: fifoLooked.opened?.names };
await fifoLooked.close();

// A call stuck in open(2) of a FIFO without writer misses its deadline; timers keep firing.
// On a pool of its own with a short deadline; ordinary calls on it are retried, since a loaded
// machine can make one of them miss 300 ms too (each such miss is counted as a late return).
const tight = createRuntime({ mount: { timeoutMs, maxStuckThreads: 2 } });
const patiently = async <T>(call: () => Promise<T>): Promise<T> => {
  for (let i = 0; ; i++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof MountUnavailableError) || i >= 20) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
};
await patiently(() => tight.fs.readText(path)); // its threads are up
let ticks = 0;
const timer = setInterval(() => ticks++, 10);
const started = performance.now();
const stuck = await tight.fs.readText(fifo).catch((e) => e);
out.deadline = {
  error: stuck instanceof MountUnavailableError ? stuck.reason : String(stuck),
  waitedMs: Math.round(performance.now() - started),
  ticks,
};
clearInterval(timer);
out.healthyAfter = await patiently(() => tight.fs.readText(path));
closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
for (let i = 0; i < 500 && tight.mountStatus().abandoned > 0; i++)
  await new Promise((resolve) => setTimeout(resolve, 10));
const rejoined = tight.mountStatus();
out.rejoined = { abandoned: rejoined.abandoned, lateReturns: rejoined.lateReturns >= 1 };
out.selfState = rt.process.processState(rt.process.identity());
console.log(JSON.stringify(out));
