/**
 * What rollback and recover say when a write of theirs is refused (jobs/rollback.ts
 * unwritableReason): the path the refused call named, and the fix for its errno, never
 * "chattr -i" for a read-only mount or a directory of the wrong owner.
 */
import { expect, test } from "bun:test";
import { unwritableReason } from "../../jobs/rollback.ts";
import { FsError, XattrError } from "../../runtime/errors.ts";

test("a refused write names the path of the refused call and the fix for its errno; other errors are not pauses", () => {
  const xattr = new XattrError("EPERM", "set", "/data/a.bin", "user.tiermv.e.3");
  const immutable = unwritableReason(xattr, 'the cleanup of "/data/a.bin"', "rollback");
  expect(immutable).toContain('"/data/a.bin" may be immutable or append-only');
  expect(immutable).toContain("chattr -i");
  expect(immutable).toContain("then run rollback again");

  const spool = new FsError("EACCES", "create", "/spool/nodes/a/windows/x.json");
  const denied = unwritableReason(spool, 'the cleanup of "/data/a.bin"', "rollback");
  expect(denied).toContain('this user may not write "/spool/nodes/a/windows/x.json"');
  expect(denied).not.toContain("chattr");

  const readOnly = new FsError("EROFS", "truncate", "/data/b.bin");
  const remount = unwritableReason(readOnly, 'the revoke of "/data/b.bin"', "recover");
  expect(remount).toContain('the filesystem holding "/data/b.bin" is mounted read-only');
  expect(remount).toContain("then run recover again");
  expect(remount).not.toContain("chattr");

  expect(unwritableReason(new FsError("EIO", "write", "/data/c.bin"), "x", "rollback")).toBeNull();
  expect(unwritableReason(new Error("plain"), "x", "rollback")).toBeNull();
});
