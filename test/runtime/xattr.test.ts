import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRuntime } from "../../runtime/bun.ts";
import { XattrError, XattrExistsError } from "../../runtime/errors.ts";
import { tempDir } from "../helpers.ts";

const rt = createRuntime();
const enc = new TextEncoder();
const dec = new TextDecoder();

function tempFile(): string {
  const path = join(tempDir("xattr"), "f");
  writeFileSync(path, "payload");
  return path;
}

// Errors are taken with .catch, not `expect(promise).rejects`: Bun 1.4's matcher does not wake up
// for a promise settled by a Worker's message (oven-sh/bun#43819), and the runtime's calls are.
test("XATTR_CREATE succeeds once and then fails with a typed EEXIST error", async () => {
  const path = tempFile();
  await rt.xattr.set(path, "user.t", enc.encode("first"), "create");
  const second = await rt.xattr.set(path, "user.t", enc.encode("second"), "create").catch((e) => e);
  expect(second).toBeInstanceOf(XattrExistsError);
  expect(second).toMatchObject({ code: "EEXIST", path, attr: "user.t" });
  expect(dec.decode((await rt.xattr.get(path, "user.t")) ?? new Uint8Array())).toBe("first");
});

test("a missing attribute reads as null and removing it reports false", async () => {
  const path = tempFile();
  expect(await rt.xattr.get(path, "user.absent")).toBeNull();
  expect(await rt.xattr.remove(path, "user.absent")).toBe(false);
});

test("XATTR_REPLACE needs an existing attribute; list and remove see it", async () => {
  const path = tempFile();
  const replaced = await rt.xattr.set(path, "user.r", enc.encode("x"), "replace").catch((e) => e);
  expect(replaced).toMatchObject({ code: "ENODATA" });
  await rt.xattr.set(path, "user.r", enc.encode("x"), "any");
  await rt.xattr.set(path, "user.r", enc.encode("y"), "replace");
  expect(await rt.xattr.list(path)).toContain("user.r");
  expect(await rt.xattr.remove(path, "user.r")).toBe(true);
  expect(await rt.xattr.list(path)).not.toContain("user.r");
});

test("values of a few KiB round-trip, including empty ones", async () => {
  const path = tempFile();
  const big = new Uint8Array(3000).fill(65);
  await rt.xattr.set(path, "user.big", big, "any");
  expect((await rt.xattr.get(path, "user.big"))?.length).toBe(3000);
  await rt.xattr.set(path, "user.empty", new Uint8Array(), "any");
  expect((await rt.xattr.get(path, "user.empty"))?.length).toBe(0);
});

test("values read at once are each their own (a thread reads them all through one buffer)", async () => {
  const path = tempFile();
  const values = ["a", "bb", "c".repeat(3000), "d".repeat(40)];
  for (const [i, v] of values.entries())
    await rt.xattr.set(path, `user.v${i}`, enc.encode(v), "any");
  // Queued at once: those behind the first share a batch and a thread; each result must
  // survive the next get.
  const got = await Promise.all(values.map((_, i) => rt.xattr.get(path, `user.v${i}`)));
  expect(got.map((b) => dec.decode(b ?? new Uint8Array()))).toEqual(values);
  const [names, first, second] = await Promise.all([
    rt.xattr.list(path),
    rt.xattr.get(path, "user.v2"),
    rt.xattr.get(path, "user.v0"),
  ]);
  expect(names.sort()).toEqual(["user.v0", "user.v1", "user.v2", "user.v3"]);
  expect([dec.decode(first ?? new Uint8Array()), dec.decode(second ?? new Uint8Array())]).toEqual([
    "c".repeat(3000),
    "a",
  ]);
});

// ext4 keeps every attribute of a file in one 4 KiB block; tmpfs takes larger ones, as CephFS
// does (its limit is 64 KiB per value).
test("a value and a name list larger than the first 4 KiB offered read whole (tmpfs)", async () => {
  const dir = mkdtempSync("/dev/shm/tiermv-xattr-");
  try {
    const path = join(dir, "f");
    writeFileSync(path, "payload");
    const big = new Uint8Array(10_000).map((_, i) => i % 251);
    await rt.xattr.set(path, "user.big", big, "any");
    expect(Buffer.compare((await rt.xattr.get(path, "user.big")) ?? new Uint8Array(), big)).toBe(0);
    const names = Array.from(
      { length: 300 },
      (_, i) => `user.name-${String(i).padStart(4, "0")}-${"y".repeat(20)}`,
    );
    for (const name of names) await rt.xattr.set(path, name, enc.encode("1"), "any");
    const listed = await rt.xattr.list(path);
    expect(listed.sort()).toEqual([...names, "user.big"].sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("errors on a missing file carry ENOENT and the path", async () => {
  const missing = "/nonexistent/tiermv/file";
  const error = await rt.xattr.get(missing, "user.t").catch((e) => e);
  expect(error).toBeInstanceOf(XattrError);
  expect(error).toMatchObject({ code: "ENOENT", path: missing });
  expect(String(error.message)).toContain(missing);
});

test("stat reports nanosecond mtime and inode as exact strings", async () => {
  const path = tempFile();
  const stat = await rt.fs.stat(path);
  expect(stat.kind).toBe("file");
  expect(stat.size).toBe(7);
  expect(stat.mtimeNs).toMatch(/^\d{19}$/);
  expect(stat.ino).toMatch(/^\d+$/);
});
