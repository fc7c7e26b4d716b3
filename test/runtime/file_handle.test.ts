/**
 * FileHandle on ext4 (temp dirs): one open file description per attempt (docs/protocol-v2.md 4). Runtime calls
 * are awaited with .catch, not expect().rejects (oven-sh/bun#43819, see xattr.test.ts).
 */
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRuntime } from "../../runtime/bun.ts";
import { FsError, XattrExistsError } from "../../runtime/errors.ts";
import { mkfifo, REPO, tempDir } from "../helpers.ts";

const rt = createRuntime();
const enc = new TextEncoder();
const dec = new TextDecoder();

function tempFile(content: string | Uint8Array = "payload"): string {
  const path = join(tempDir("handle"), "f");
  writeFileSync(path, content);
  return path;
}

test("the lock and state xattrs follow the inode when the path is renamed", async () => {
  const path = tempFile();
  const handle = await rt.openFile(path, { mode: "read" });
  const moved = `${path}.moved`;
  renameSync(path, moved);
  await handle.setXattr("user.tiermv.lock", enc.encode("attempt-1"), "create");
  await handle.setXattr("user.tiermv.state", enc.encode("migrated"), "any");
  // The path now names nothing; the inode, reached by its new name, carries both records.
  expect(await rt.fs.exists(path)).toBe(false);
  expect(dec.decode((await rt.xattr.get(moved, "user.tiermv.lock")) ?? new Uint8Array())).toBe(
    "attempt-1",
  );
  expect(dec.decode((await handle.getXattr("user.tiermv.state")) ?? new Uint8Array())).toBe(
    "migrated",
  );
  // "Is my inode still at this path": lstat of the path against fstat of the descriptor.
  const mine = await handle.stat();
  expect((await rt.fs.lstat(moved)).ino).toBe(mine.ino);
  expect(await rt.fs.lstat(path).catch((e) => e.code)).toBe("ENOENT");
  await handle.close();
});

test("xattrs on a descriptor: create is exclusive, a missing one reads null and removes false", async () => {
  const handle = await rt.openFile(tempFile(), { mode: "read" });
  await handle.setXattr("user.l", enc.encode("first"), "create");
  const second = await handle.setXattr("user.l", enc.encode("second"), "create").catch((e) => e);
  expect(second).toBeInstanceOf(XattrExistsError);
  expect(second).toMatchObject({ code: "EEXIST", path: handle.path, attr: "user.l" });
  expect(await handle.getXattr("user.absent")).toBeNull();
  expect(await handle.removeXattr("user.absent")).toBe(false);
  expect(await handle.listXattr()).toContain("user.l");
  expect(await handle.removeXattr("user.l")).toBe(true);
  expect(await handle.listXattr()).not.toContain("user.l");
  const empty = new Uint8Array();
  await handle.setXattr("user.empty", empty, "any");
  expect((await handle.getXattr("user.empty"))?.length).toBe(0);
  await handle.close();
});

test("fstat gives kind, size, exact ns times, ino, dev, mode, owner and links", async () => {
  const path = tempFile("12345");
  const handle = await rt.openFile(path, { mode: "read" });
  const got = await handle.stat();
  const want = statSync(path, { bigint: true });
  expect(got).toEqual({
    kind: "file",
    size: 5,
    mtimeNs: want.mtimeNs.toString(),
    ino: want.ino.toString(),
    ctimeNs: want.ctimeNs.toString(),
    atimeNs: want.atimeNs.toString(),
    dev: want.dev.toString(),
    mode: Number(want.mode),
    uid: Number(want.uid),
    gid: Number(want.gid),
    nlink: 1,
  });
  expect(await rt.fs.stat(path)).toEqual(got);
  await handle.close();
});

test("an xattr write changes ctime, and nothing sets ctime back", async () => {
  const handle = await rt.openFile(tempFile(), { mode: "readwrite" });
  const before = await handle.stat();
  await Bun.sleep(5); // ctime has the clock's granularity; a few ms apart makes the change visible
  await handle.setXattr("user.tiermv.lock", enc.encode("a"), "create");
  const after = await handle.stat();
  expect(BigInt(after.ctimeNs)).toBeGreaterThan(BigInt(before.ctimeNs));
  expect(after.mtimeNs).toBe(before.mtimeNs);
  // Restoring mtime (what a careful writer does) changes ctime again.
  await handle.setTimes(undefined, before.mtimeNs);
  expect(BigInt((await handle.stat()).ctimeNs)).toBeGreaterThan(BigInt(after.ctimeNs));
  await handle.close();
});

test("O_NOATIME: reading through the handle leaves atime as it was", async () => {
  const path = tempFile("content that is read");
  const past = new Date("2001-02-03T04:05:06Z");
  utimesSync(path, past, past);
  const before = statSync(path, { bigint: true }).atimeNs;
  const handle = await rt.openFile(path, { mode: "read" });
  expect(handle.noatime).toBe(true);
  expect(await handle.readInto(0, new Uint8Array(64))).toBe(20);
  await handle.md5(0, 20);
  await handle.close();
  expect(statSync(path, { bigint: true }).atimeNs).toBe(before);
  // The control: a plain read of the same file does move atime (relatime: atime older than
  // mtime), so the check above would see a read without O_NOATIME.
  readFileSync(path);
  expect(statSync(path, { bigint: true }).atimeNs).not.toBe(before);
});

test("O_NOATIME is refused (EPERM) on a file we do not own: the open retries without it", async () => {
  // root has CAP_FOWNER, for which O_NOATIME always works: the open runs as another user.
  const path = tempFile("not mine");
  chmodSync(dirname(path), 0o755);
  chownSync(path, 65534, 65534);
  const script = join(REPO, "test/runtime/open_as_other.ts");
  const proc = Bun.spawnSync(
    ["setpriv", "--reuid=65533", "--regid=65533", "--clear-groups", process.execPath, script, path],
    { env: { ...process.env, HOME: tmpdir(), TMPDIR: tmpdir() }, stderr: "pipe" },
  );
  expect(proc.stderr.toString()).toBe("");
  expect(JSON.parse(proc.stdout.toString())).toEqual({ uid: 65533, noatime: false, read: "not" });
  // As the owner (root here), O_NOATIME is granted.
  const owner = await rt.openFile(path, { mode: "read" });
  expect(owner.noatime).toBe(true);
  await owner.close();
});

test("openFile never blocks on a FIFO: it opens, and fstat says it is not a regular file", async () => {
  const fifo = mkfifo(join(tempDir("fifo"), "pipe"));
  const started = performance.now();
  const handle = await rt.openFile(fifo, { mode: "read" });
  expect((await handle.stat()).kind).toBe("other");
  await handle.close();
  expect(performance.now() - started).toBeLessThan(1000);
});

test("a symlink is refused (O_NOFOLLOW): ELOOP", async () => {
  const path = tempFile();
  symlinkSync(path, `${path}.link`);
  const error = await rt.openFile(`${path}.link`, { mode: "read" }).catch((e) => e);
  expect(error).toBeInstanceOf(FsError);
  expect(error).toMatchObject({ code: "ELOOP", path: `${path}.link` });
});

test("readInto reads each range at its own offset (also in parallel), short at end of file", async () => {
  const bytes = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 7) % 251);
  const handle = await rt.openFile(tempFile(bytes), { mode: "read" });
  const offsets = [2 * 1024 * 1024, 0, 1024 * 1024, 5];
  const parts = offsets.map((at) => ({ at, buffer: new Uint8Array(1024 * 1024) }));
  const counts = await Promise.all(parts.map((p) => handle.readInto(p.at, p.buffer)));
  expect(counts).toEqual(offsets.map(() => 1024 * 1024));
  for (const p of parts) expect(p.buffer).toEqual(bytes.subarray(p.at, p.at + 1024 * 1024));
  const tail = new Uint8Array(100);
  expect(await handle.readInto(bytes.length - 17, tail)).toBe(17);
  expect(tail.subarray(0, 17)).toEqual(bytes.subarray(bytes.length - 17));
  expect(await handle.readInto(bytes.length + 10, tail)).toBe(0);
  await handle.close();
});

test("md5 of a range is the digest of exactly those bytes", async () => {
  const bytes = new Uint8Array(9 * 1024 * 1024 + 3).map((_, i) => (i * 13) % 256);
  const handle = await rt.openFile(tempFile(bytes), { mode: "read" });
  const digest = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
  const hex = (d: Uint8Array) => Buffer.from(d).toString("hex");
  expect(hex(await handle.md5(0, bytes.length))).toBe(digest(bytes));
  expect(hex(await handle.md5(4 * 1024 * 1024 + 1, 5_000_000))).toBe(
    digest(bytes.subarray(4 * 1024 * 1024 + 1, 4 * 1024 * 1024 + 1 + 5_000_000)),
  );
  expect(hex(await handle.md5(bytes.length - 3, 100))).toBe(digest(bytes.subarray(-3)));
  await handle.close();
});

test("a readwrite handle truncates, writes at an offset, sets exact times and syncs", async () => {
  const path = tempFile("old content, longer than the new one");
  const handle = await rt.openFile(path, { mode: "readwrite" });
  const atime = statSync(path, { bigint: true }).atimeNs.toString();
  await handle.truncate(0);
  await handle.write(4, enc.encode("tail"));
  await handle.write(0, enc.encode("head"));
  const mtimeNs = "1500000000123456789";
  await handle.setTimes(undefined, mtimeNs);
  await handle.sync();
  expect(await handle.stat()).toMatchObject({ size: 8, mtimeNs, atimeNs: atime });
  await handle.setTimes("1400000000000000001", mtimeNs);
  expect((await handle.stat()).atimeNs).toBe("1400000000000000001");
  await handle.close();
  expect(readFileSync(path, "utf8")).toBe("headtail");
});

test("tryLock: one open file description holds flock LOCK_EX, another is refused until it closes", async () => {
  const path = tempFile();
  const first = await rt.openFile(path, { mode: "readwrite" });
  const second = await rt.openFile(path, { mode: "read" });
  expect(await first.tryLock()).toBe(true);
  expect(await first.tryLock()).toBe(true);
  expect(await second.tryLock()).toBe(false);
  await first.close();
  expect(await second.tryLock()).toBe(true);
  await second.close();
});

test("a read handle cannot write; close is idempotent and later calls fail with EBADF", async () => {
  const handle = await rt.openFile(tempFile(), { mode: "read" });
  expect(await handle.write(0, enc.encode("x")).catch((e) => e.code)).toBe("EBADF");
  expect(await handle.truncate(0).catch((e) => e.code)).toBe("EINVAL");
  await handle.close();
  await handle.close();
  const after = await handle.stat().catch((e) => e);
  expect(after).toBeInstanceOf(FsError);
  expect(after).toMatchObject({ code: "EBADF", path: handle.path });
});

/** Messages that gave a mount thread work during `work` (each is one round trip). */
async function handoffsOf<T>(work: () => Promise<T>): Promise<{ value: T; handoffs: number }> {
  const before = rt.mountStatus().handoffs;
  const value = await work();
  return { value, handoffs: rt.mountStatus().handoffs - before };
}

test("openFile with look: the open, its fstat and a regular file's flistxattr in one hand-off, each as the call alone would answer", async () => {
  const path = tempFile();
  writeFileSync(path, "payload");
  const plain = await rt.openFile(path, { mode: "read" });
  expect(plain.opened).toBeNull();
  await plain.close();
  await rt.xattr.set(path, "user.tiermv.l.1", enc.encode("{}"), "create");
  const { value: handle, handoffs } = await handoffsOf(() =>
    rt.openFile(path, { mode: "read", look: true }),
  );
  expect(handoffs).toBe(1);
  const { value: looked, handoffs: none } = await handoffsOf(async () => ({
    stat: await handle.opened?.stat(),
    names: await handle.opened?.names?.(),
  }));
  expect(none).toBe(0);
  expect(looked.stat).toEqual(await handle.stat());
  expect(looked.names).toEqual(await handle.listXattr());
  expect(looked.names).toContain("user.tiermv.l.1");
  await handle.close();
  // Anything but a regular file is not listed (the caller refuses it after the fstat).
  const fifo = await rt.openFile(mkfifo(join(tempDir("fifo"), "pipe")), {
    mode: "read",
    look: true,
  });
  expect((await fifo.opened?.stat())?.kind).toBe("other");
  expect(fifo.opened?.names).toBeNull();
  await fifo.close();
  // An open that fails throws as openFile always did.
  const link = `${path}.link`;
  symlinkSync(path, link);
  const error = await rt.openFile(link, { mode: "read", look: true }).catch((e) => e);
  expect(error).toBeInstanceOf(FsError);
  expect(error).toMatchObject({ code: "ELOOP", path: link });
});

test("createXattrThenList: the create and the names after it in one hand-off; an existing name throws XattrExistsError and keeps its value", async () => {
  const handle = await rt.openFile(tempFile(), { mode: "read" });
  const { value: names, handoffs } = await handoffsOf(() =>
    handle.createXattrThenList("user.tiermv.l.1", enc.encode("first")),
  );
  expect(handoffs).toBe(1);
  expect(names).toEqual(await handle.listXattr());
  expect(names).toContain("user.tiermv.l.1");
  const again = await handle
    .createXattrThenList("user.tiermv.l.1", enc.encode("second"))
    .catch((e) => e);
  expect(again).toBeInstanceOf(XattrExistsError);
  expect(again).toMatchObject({ code: "EEXIST", op: "write", path: handle.path });
  expect(again.attr).toBe("user.tiermv.l.1");
  expect(dec.decode((await handle.getXattr("user.tiermv.l.1")) ?? new Uint8Array())).toBe("first");
  await handle.close();
  expect(await handle.createXattrThenList("user.x", enc.encode("x")).catch((e) => e.code)).toBe(
    "EBADF",
  );
});

test("statWithPath: fstat and lstat of the path in one hand-off; the path's inode tells a move, nothing there is null", async () => {
  const path = tempFile();
  const handle = await rt.openFile(path, { mode: "read" });
  const { value: here, handoffs } = await handoffsOf(() => handle.statWithPath());
  expect(handoffs).toBe(1);
  expect(here.stat).toEqual(await handle.stat());
  expect(here.atPath?.ino).toBe(here.stat.ino);
  renameSync(path, `${path}.moved`);
  expect((await handle.statWithPath()).atPath).toBeNull();
  writeFileSync(path, "another file at the path");
  const other = await handle.statWithPath();
  expect(other.atPath?.ino).toBe(String(statSync(path).ino));
  expect(other.atPath?.ino).not.toBe(other.stat.ino);
  await handle.close();
  expect(await handle.statWithPath().catch((e) => e.code)).toBe("EBADF");
});

test("statThenRead: fstat and a small file's whole body in one hand-off; a larger file or a FIFO is not read", async () => {
  const body = new Uint8Array(16 * 1024).map((_, i) => (i * 7) % 251);
  const path = tempFile(body);
  const handle = await rt.openFile(path, { mode: "read" });
  const { value: small, handoffs } = await handoffsOf(() => handle.statThenRead(body.length));
  expect(handoffs).toBe(1);
  expect(small.stat).toEqual(await handle.stat());
  expect(small.head).toEqual(body);
  // One byte over the limit: only the fstat.
  const large = await handle.statThenRead(body.length - 1);
  expect(large.stat.size).toBe(body.length);
  expect(large.head).toBeNull();
  await handle.close();
  const fifo = await rt.openFile(mkfifo(join(tempDir("fifo"), "pipe")), { mode: "read" });
  const unread = await fifo.statThenRead(1024);
  expect(unread.stat.kind).toBe("other");
  expect(unread.head).toBeNull();
  await fifo.close();
  // An empty file reads as no bytes.
  const empty = await rt.openFile(tempFile(""), { mode: "read" });
  expect((await empty.statThenRead(1024)).head).toEqual(new Uint8Array(0));
  await empty.close();
});

test("openFile with look, lock, top and mark: fstat, flock, then (only when the lock was taken) the listing, the read of its highest-numbered name, fstat and the mark's read, in one hand-off", async () => {
  const path = tempFile();
  for (const n of [2, 10, 9])
    await rt.xattr.set(path, `user.tiermv.e.${n}`, enc.encode(`e${n}`), "create");
  await rt.xattr.set(path, "user.tiermv.l.11", enc.encode("l11"), "create");
  await rt.xattr.set(path, "user.mark", enc.encode("marked"), "create");
  const options = {
    mode: "readwrite",
    look: { lock: true, top: "user.tiermv.e.", mark: "user.mark" },
  } as const;
  const { value: first, handoffs } = await handoffsOf(() => rt.openFile(path, options));
  expect(handoffs).toBe(1);
  const { value: looked, handoffs: none } = await handoffsOf(async () => ({
    stat: await first.opened?.stat(),
    locked: await first.opened?.locked?.(),
    names: await first.opened?.names?.(),
    top: await first.opened?.top?.(),
    marked: await first.opened?.marked?.(),
  }));
  expect(none).toBe(0);
  expect(looked.marked?.stat).toEqual(await first.stat());
  expect(dec.decode(looked.marked?.value ?? new Uint8Array())).toBe("marked");
  expect(looked.stat).toEqual(await first.stat());
  expect(looked.locked).toBe(true);
  expect(looked.names).toEqual(await first.listXattr());
  // The highest by number (10), not by text (9), and only among the prefix's names (not l.11).
  expect(looked.top?.name).toBe("user.tiermv.e.10");
  expect(dec.decode(looked.top?.value ?? new Uint8Array())).toBe("e10");
  // Another open file description of the same file: the lock is held, nothing is listed.
  const second = await rt.openFile(path, options);
  expect(await second.opened?.locked?.()).toBe(false);
  expect(second.opened?.names).toBeNull();
  expect(second.opened?.top).toBeNull();
  expect(second.opened?.marked).toBeNull();
  await second.close();
  await first.close();
  // Freed by the close: a new description takes it.
  const third = await rt.openFile(path, options);
  expect(await third.opened?.locked?.()).toBe(true);
  await third.close();
  // Nothing of the prefix listed: no read. Anything but a regular file: no lock, no listing.
  const bare = await rt.openFile(tempFile(), options);
  expect(await bare.opened?.top?.()).toBeNull();
  await bare.close();
  const fifo = await rt.openFile(mkfifo(join(tempDir("fifo"), "pipe")), options);
  expect((await fifo.opened?.stat())?.kind).toBe("other");
  expect(fifo.opened?.locked).toBeNull();
  expect(fifo.opened?.names).toBeNull();
  await fifo.close();
});

test("createXattrThenListTop: the create, the names after it and the read of the highest-numbered one, in one hand-off; an existing name throws XattrExistsError", async () => {
  const handle = await rt.openFile(tempFile(), { mode: "read" });
  await handle.setXattr("user.tiermv.e.1", enc.encode("e1"), "create");
  const { value: listing, handoffs } = await handoffsOf(() =>
    handle.createXattrThenListTop("user.tiermv.l.2", enc.encode("take"), { top: "user.tiermv.e." }),
  );
  expect(handoffs).toBe(1);
  expect(listing.names).toEqual(await handle.listXattr());
  expect(listing.names).toContain("user.tiermv.l.2");
  expect(listing.top?.name).toBe("user.tiermv.e.1");
  expect(dec.decode(listing.top?.value ?? new Uint8Array())).toBe("e1");
  const again = await handle
    .createXattrThenListTop("user.tiermv.l.2", enc.encode("x"), { top: "user.tiermv.e." })
    .catch((e) => e);
  expect(again).toBeInstanceOf(XattrExistsError);
  expect(again).toMatchObject({ code: "EEXIST", op: "write", attr: "user.tiermv.l.2" });
  expect(dec.decode((await handle.getXattr("user.tiermv.l.2")) ?? new Uint8Array())).toBe("take");
  expect(listing.marked).toBeNull();
  // With a mark: fstat and the mark's read after them, still one hand-off.
  const { value: marked, handoffs: once } = await handoffsOf(() =>
    handle.createXattrThenListTop("user.tiermv.l.3", enc.encode("t"), {
      top: "user.tiermv.e.",
      mark: "user.m",
    }),
  );
  expect(once).toBe(1);
  expect((await marked.marked?.())?.stat).toEqual(await handle.stat());
  expect((await marked.marked?.())?.value).toBeNull();
  await handle.close();
});

test("listTopThenStat (with removes first), statThenGetXattr and removeXattrs: each as its calls one by one, in one hand-off", async () => {
  const path = tempFile("twelve bytes");
  const handle = await rt.openFile(path, { mode: "readwrite" });
  for (const n of [1, 3])
    await handle.setXattr(`user.tiermv.e.${n}`, enc.encode(`e${n}`), "create");
  const { value: checked, handoffs } = await handoffsOf(() =>
    handle.listTopThenStat("user.tiermv.e."),
  );
  expect(handoffs).toBe(1);
  expect(checked.listing.names).toEqual(await handle.listXattr());
  expect(checked.listing.top).toEqual({ name: "user.tiermv.e.3", value: enc.encode("e3") });
  expect(checked.stat).toEqual(await handle.stat());
  expect((await handle.listTopThenStat("user.tiermv.none.")).listing.top).toBeNull();

  await handle.setXattr("user.tiermv.norelease", enc.encode("yes"), "create");
  const { value: marked, handoffs: one } = await handoffsOf(() =>
    handle.statThenGetXattr("user.tiermv.norelease"),
  );
  expect(one).toBe(1);
  expect(marked.stat).toEqual(await handle.stat());
  expect(dec.decode(marked.value ?? new Uint8Array())).toBe("yes");
  expect((await handle.statThenGetXattr("user.absent")).value).toBeNull();

  // GC, then the re-check: the removes first, the listing only after them.
  await handle.setXattr("user.tiermv.l.3", enc.encode("l3"), "create");
  const { value: collected, handoffs: gc } = await handoffsOf(() =>
    handle.listTopThenStat("user.tiermv.e.", ["user.tiermv.l.3", "user.absent"]),
  );
  expect(gc).toBe(1);
  expect(collected.removed).toEqual([true, false]);
  expect(collected.listing.names).not.toContain("user.tiermv.l.3");
  expect(collected.listing.top?.name).toBe("user.tiermv.e.3");

  const names = ["user.tiermv.e.1", "user.absent", "user.tiermv.e.3"];
  const { value: removed, handoffs: once } = await handoffsOf(() => handle.removeXattrs(names));
  expect(once).toBe(1);
  expect(removed).toEqual([true, false, true]);
  expect(await handle.listXattr()).toEqual(["user.tiermv.norelease"]);
  expect(await handle.removeXattrs([])).toEqual([]);
  await handle.close();
  const closed = await handle.removeXattrs(["user.tiermv.norelease"]).catch((e) => e.code);
  expect(closed).toBe("EBADF");
});
