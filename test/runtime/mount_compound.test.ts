/**
 * Compound calls (runtime/mount_compound.ts) as the calls one by one would be: each call reports
 * progress once it returns, so the hand-off's deadline restarts after each of them (the worker
 * throttles the reports, mount_worker.ts), and a call failing in the middle stops the calls after
 * it and comes back as its own error, with its op, path and attribute.
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRuntime } from "../../runtime/bun.ts";
import { XattrError } from "../../runtime/errors.ts";
import { bindLibc } from "../../runtime/libc_bun.ts";
import { createMountOps } from "../../runtime/mount_ops.ts";
import { tempDir } from "../helpers.ts";

const enc = new TextEncoder();

function tempFile(): string {
  const path = join(tempDir("tiermv-compound-"), "f");
  writeFileSync(path, "payload");
  return path;
}

test("a compound call reports progress after each of its calls, so its deadline restarts per call as a batch's does", () => {
  let reports = 0;
  const ops = createMountOps(bindLibc(), {
    progress: () => void reports++,
    buffer: (length) => new Uint8Array(length),
  });
  const path = tempFile();
  // open, fstat, flock, flistxattr, fgetxattr of the top name, fstat and fgetxattr of the mark.
  const fd = ops.open(path, "readwrite").fd;
  ops.fsetxattr(fd, "user.tiermv.e.1", enc.encode("{}"), "create");
  ops.close(fd);
  reports = 0;
  const looked = ops.openLook(path, "readwrite", true, "user.tiermv.e.", "user.tiermv.norelease");
  expect(looked.top?.name).toBe("user.tiermv.e.1");
  expect(looked.marked?.value?.ok).toBe(true);
  expect(reports).toBe(7);
  reports = 0;
  const rechecked = ops.listTopThenFstat(looked.fd, "user.tiermv.e.", ["user.tiermv.e.1"]);
  expect(rechecked.stat?.ok).toBe(true);
  expect(reports).toBe(3); // the remove, the listing, the fstat (no top name left to read)
  ops.close(looked.fd);
});

test("a remove failing in the middle of a compound call: the removes after it and the listing are not made, and its own error comes back", async () => {
  const rt = createRuntime();
  const path = tempFile();
  const handle = await rt.openFile(path, { mode: "readwrite" });
  for (const name of ["user.a", "user.b"]) await handle.setXattr(name, enc.encode("1"), "create");
  const bad = `user.${"x".repeat(300)}`; // longer than XATTR_NAME_MAX: ERANGE
  const err = await handle
    .listTopThenStat("user.tiermv.e.", ["user.a", bad, "user.b"])
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(XattrError);
  expect(err).toMatchObject({ code: "ERANGE", op: "remove", path, attr: bad });
  // user.a was removed before the failure, user.b after it was not.
  expect((await handle.listXattr()).filter((n) => n.startsWith("user.")).sort()).toEqual([
    "user.b",
  ]);
  await handle.close();
});
